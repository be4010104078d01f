import type { InferenceSession } from "onnxruntime-node";
import { CUDA_OPTION_KEYS, type CudaSpec } from "../../contract/model-spec.js";
import type { ProviderName } from "../../settings/models.js";
import type { ProviderOptions } from "./execution-providers.js";

/**
 * The session options gen-worker creates every session with. None beyond ONNX Runtime's defaults, on
 * purpose: graph optimization `all`, the CPU memory arena and memory patterns on, sequential execution,
 * as many intra-op threads as physical cores and the default inter-op pool, the same as a bare
 * `InferenceSession.create(path, { executionProviders: ["cuda"] })`. That bare session is the one that
 * measured 3.33 ms for PP-OCR detection on an H200 (docs/models.md, "Session options", says why none of
 * these is changed and what the 4.34 ms figure through gen-worker was).
 */
export const SESSION_OPTIONS: Readonly<Omit<InferenceSession.SessionOptions, "executionProviders">> = {};

/**
 * What ONNX Runtime's CUDA provider uses when nothing is set (the member defaults of
 * `OrtCUDAProviderOptionsV2`, core/providers/cuda/cuda_provider_options.h, which
 * `CreateCUDAProviderOptions` returns), which is what onnxruntime-node always gets.
 */
export const ORT_CUDA_DEFAULTS: Readonly<Required<CudaSpec>> = {
  cudnn_conv_algo_search: "EXHAUSTIVE",
  arena_extend_strategy: "kNextPowerOfTwo",
  cudnn_conv_use_max_workspace: true,
  use_tf32: true,
};

/**
 * Whether the installed onnxruntime-node hands CUDA provider options other than `deviceId` to ONNX
 * Runtime. It does not: its native binding (js/node/src/session_options_helper.cc, 1.29.0 and the main
 * branch alike) reads only `deviceId` from a `{ name: "cuda", ... }` entry and creates the provider
 * with `CreateCUDAProviderOptions`' defaults. gen-worker still passes the cozy.toml options under
 * ONNX Runtime's names, so that a binding that forwards them applies them; flip this when one does.
 */
export const BINDING_APPLIES_CUDA_OPTIONS = false;

export interface ModelSessionOptions {
  providerOptions: Partial<Record<ProviderName, ProviderOptions>>;
  /** The cozy.toml CUDA options that differ from ONNX Runtime's defaults but the binding ignores. */
  unappliedCuda: string[];
}

/** The provider options of a model's sessions, from its cozy.toml `cuda` table. */
export function modelSessionOptions(cuda: CudaSpec | undefined): ModelSessionOptions {
  if (cuda === undefined || Object.keys(cuda).length === 0) return { providerOptions: {}, unappliedCuda: [] };
  const options: Record<string, unknown> = { deviceId: 0 };
  const unappliedCuda: string[] = [];
  for (const key of CUDA_OPTION_KEYS) {
    const value = cuda[key];
    if (value === undefined) continue;
    // ONNX Runtime's provider options are strings ("1"/"0" for flags).
    options[key] = typeof value === "boolean" ? (value ? "1" : "0") : value;
    if (!BINDING_APPLIES_CUDA_OPTIONS && value !== ORT_CUDA_DEFAULTS[key]) {
      unappliedCuda.push(`${key} = ${JSON.stringify(value)}`);
    }
  }
  return { providerOptions: { cuda: options }, unappliedCuda };
}
