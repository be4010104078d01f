/** How cozy.toml declares a model: its ref, the ONNX dtypes to fetch, optional file globs. */

export const DTYPES = [
  "fp32",
  "fp16",
  "bf16",
  "fp8",
  "int8",
  "uint8",
  "int4",
  "q4",
  "q4f16",
  "bnb4",
  "quantized",
] as const;
export type Dtype = (typeof DTYPES)[number];
/**
 * The dtypes of a model given in string form. For ONNX models fp32 is the unsuffixed graph,
 * so this departs on purpose from the Python worker's default of fp16 and bf16.
 */
export const DEFAULT_DTYPES: readonly Dtype[] = ["fp32"];

export interface ModelSpec {
  /** The ref as written, trimmed. */
  ref: string;
  dtypes: Dtype[];
  /** Globs of the files to download (table form only). */
  files?: string[];
}

export interface Resources {
  vram_gb?: number;
  ram_gb?: number;
  cpu_cores?: number;
  disk_gb?: number;
}
