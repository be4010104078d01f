import { type InferenceSession, Tensor } from "onnxruntime-node";
import { isOutOfMemory } from "./out-of-memory.js";

type Described = Pick<InferenceSession, "inputMetadata" | "run">;

/**
 * The sizes tried for the graph's symbolic dimensions: all 1 first (the smallest run), then the first
 * dimension 1 and the others 512, for graphs that cannot run on a few elements (Silero VAD's STFT
 * needs a window of at least 256 samples).
 */
const ATTEMPTS: readonly { first: number; rest: number }[] = [
  { first: 1, rest: 1 },
  { first: 1, rest: 512 },
];

export type WarmupResult =
  | { warmed: true; ms: number; dims: Record<string, number[]> }
  | { warmed: false; ms: number; reason: string };

/**
 * Runs the session once on synthetic inputs built from its input metadata (zeros; symbolic dimensions
 * set to 1, the same symbol to the same size), so that what ONNX Runtime does on a session's first run (allocating its arena, on CUDA
 * loading cuDNN and cuBLAS and their kernels, planning memory) happens at load time and not in the
 * first request. A graph that fails on those inputs is tried once more with larger dimensions; if
 * that fails too the session is left cold, which costs only the first request's latency. Out of
 * memory is thrown, so that the caller can make room and retry.
 */
export async function warmUp(session: Described): Promise<WarmupResult> {
  const started = performance.now();
  let reason = "";
  for (const attempt of ATTEMPTS) {
    const feeds = syntheticFeeds(session.inputMetadata, attempt);
    if (typeof feeds === "string") return { warmed: false, ms: elapsed(started), reason: feeds };
    try {
      await session.run(feeds);
      const dims = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, [...t.dims]]));
      return { warmed: true, ms: elapsed(started), dims };
    } catch (error) {
      if (isOutOfMemory(error)) throw error;
      reason = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
    }
  }
  return { warmed: false, ms: elapsed(started), reason };
}

/** Zero-filled feeds for every input, or why none can be made (a non-tensor input). */
export function syntheticFeeds(
  inputs: readonly InferenceSession.ValueMetadata[],
  sizes: { first: number; rest: number } = { first: 1, rest: 1 },
): Record<string, Tensor> | string {
  const feeds: Record<string, Tensor> = {};
  // A symbol names one size wherever it appears (Silero's `batch` is the first dimension of `input`
  // and the second of `h`): symbols that lead some input get `first`, the others `rest`.
  const leading = new Set(inputs.flatMap((input) => (input.isTensor ? [input.shape[0]] : [])));
  for (const input of inputs) {
    if (!input.isTensor) return `input '${input.name}' is not a tensor`;
    const dims = input.shape.map((dim) =>
      typeof dim === "number" ? dim : leading.has(dim) ? sizes.first : sizes.rest,
    );
    const count = dims.reduce((a, b) => a * b, 1);
    const data = zeros(input.type, count);
    if (data === undefined) return `input '${input.name}' has type ${input.type}, which warm-up cannot fill`;
    feeds[input.name] = new Tensor(input.type, data as Tensor.DataType, dims);
  }
  return feeds;
}

function zeros(type: Tensor.Type, count: number): Tensor.DataType | undefined {
  switch (type) {
    case "float32":
      return new Float32Array(count);
    case "float64":
      return new Float64Array(count);
    case "float16":
    case "uint16":
      return new Uint16Array(count);
    case "int8":
      return new Int8Array(count);
    case "uint8":
    case "bool":
      return new Uint8Array(count);
    case "int16":
      return new Int16Array(count);
    case "int32":
      return new Int32Array(count);
    case "uint32":
      return new Uint32Array(count);
    case "int64":
      return new BigInt64Array(count);
    case "uint64":
      return new BigUint64Array(count);
    case "string":
      return new Array<string>(count).fill("");
    default:
      return undefined;
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
