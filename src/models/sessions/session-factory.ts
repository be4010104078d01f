import type { InferenceSession } from "onnxruntime-node";
import type { ModelSpec } from "../../contract/model-spec.js";
import type { OrtLogLevel, ProviderName } from "../../settings/models.js";
import { createSession, type SessionLog } from "./execution-providers.js";
import { modelSessionOptions, SESSION_OPTIONS } from "./session-options.js";

/** Creates one session of a model: the `.onnx` file at `path`, with the options of the model's spec. */
export type SessionFactory = (path: string, spec: ModelSpec) => Promise<InferenceSession>;

export interface SessionFactoryOptions {
  providers: readonly ProviderName[];
  log: SessionLog;
  ortLogLevel?: OrtLogLevel;
}

/**
 * Sessions on the first provider that loads ({@link createSession}), with gen-worker's session options
 * and the model's cozy.toml `cuda` options. When the session lands on CUDA and cozy.toml sets CUDA
 * options the binding does not pass on, one warning says which and that ONNX Runtime's defaults apply.
 */
export function defaultSessionFactory(options: SessionFactoryOptions): SessionFactory {
  const { providers, log, ortLogLevel = "fatal" } = options;
  return async (path, spec) => {
    const { providerOptions, unappliedCuda } = modelSessionOptions(spec.cuda);
    const created = await createSession(path, providers, log, SESSION_OPTIONS, ortLogLevel, providerOptions);
    if (created.provider === "cuda" && unappliedCuda.length > 0) {
      log.warn(
        { model: path, ref: spec.ref, unapplied: unappliedCuda },
        `cozy.toml sets CUDA options for ${spec.ref} (${unappliedCuda.join(", ")}) that onnxruntime-node does not pass to ONNX Runtime (its binding reads only deviceId); ONNX Runtime's defaults apply (docs/models.md, "CUDA options")`,
      );
    }
    return created.session;
  };
}
