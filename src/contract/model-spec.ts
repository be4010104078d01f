/**
 * How cozy.toml declares a model: its ref, the ONNX dtypes to fetch, optional file globs, and how its
 * sessions are served (dynamic batching, CUDA execution provider options).
 */

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

/**
 * `batch = { max_size = 32, max_wait_ms = 2 }`: concurrent `session.run` calls of different runs whose
 * inputs agree in every dimension but the first are run as one call, their inputs concatenated along
 * the first dimension (docs/models.md, "Dynamic batching").
 */
export interface BatchSpec {
  /** The most rows (the sum of the calls' first dimensions) one batched call holds. */
  max_size: number;
  /** How long the first call of a batch waits for others to join, in milliseconds. */
  max_wait_ms: number;
}

/** Used for the keys a `batch` table leaves out. */
export const DEFAULT_BATCH: Readonly<BatchSpec> = { max_size: 16, max_wait_ms: 2 };
/** The accepted ranges: a batch of 1 is no batch; a longer wait than a second is a queue, not a batch. */
export const BATCH_LIMITS = {
  max_size: { min: 2, max: 1024 },
  max_wait_ms: { min: 0, max: 1000 },
} as const;

export const CUDNN_CONV_ALGO_SEARCH = ["EXHAUSTIVE", "HEURISTIC", "DEFAULT"] as const;
export const ARENA_EXTEND_STRATEGIES = ["kNextPowerOfTwo", "kSameAsRequested"] as const;

/**
 * CUDA execution provider options, in ONNX Runtime's own names (`cuda = { ... }` in a model's table).
 * What each costs: docs/models.md, "CUDA options". Unset keys keep ONNX Runtime's defaults.
 */
export interface CudaSpec {
  cudnn_conv_algo_search?: (typeof CUDNN_CONV_ALGO_SEARCH)[number];
  arena_extend_strategy?: (typeof ARENA_EXTEND_STRATEGIES)[number];
  cudnn_conv_use_max_workspace?: boolean;
  use_tf32?: boolean;
}

export const CUDA_OPTION_KEYS = [
  "cudnn_conv_algo_search",
  "arena_extend_strategy",
  "cudnn_conv_use_max_workspace",
  "use_tf32",
] as const satisfies readonly (keyof CudaSpec)[];

export interface ModelSpec {
  /** The ref as written, trimmed. */
  ref: string;
  dtypes: Dtype[];
  /** Globs of the files to download (table form only). */
  files?: string[];
  /** Dynamic batching of concurrent runs' calls (table form only); absent: every call runs alone. */
  batch?: BatchSpec;
  /** CUDA execution provider options (table form only). */
  cuda?: CudaSpec;
}

export interface Resources {
  vram_gb?: number;
  ram_gb?: number;
  cpu_cores?: number;
  disk_gb?: number;
}
