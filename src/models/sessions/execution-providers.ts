import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { dirname, join } from "node:path";
import { InferenceSession, env as ortEnv } from "onnxruntime-node";
import type { Logger } from "../../host/logger.js";
import type { OrtLogLevel, ProviderName } from "../../settings/models.js";
import { keepOrtTelemetryOff } from "../../settings/ort-telemetry.js";
import { isOutOfMemory } from "./out-of-memory.js";

keepOrtTelemetryOff();

/** Every provider was tried and none could create the session; `failures` holds each one's reason. */
export class SessionCreateError extends Error {
  constructor(
    readonly path: string,
    readonly failures: readonly ProviderFailure[],
  ) {
    super(
      `could not create an ONNX Runtime session for ${path}: ` +
        failures.map((f) => `${f.provider}: ${f.reason}`).join("; "),
    );
    this.name = "SessionCreateError";
  }
}

export interface ProviderFailure {
  provider: ProviderName;
  /** The shared library that could not be loaded, when we can tell. */
  missingLibrary?: string;
  reason: string;
}

export interface CreatedSession {
  session: InferenceSession;
  provider: ProviderName;
  /** Providers tried before `provider` that failed, in order. */
  fallbacks: ProviderFailure[];
}

export type SessionLog = Pick<Logger, "info" | "warn">;

/** Options of one execution provider, beside its name (`{ name: "cuda", deviceId: 0 }`). */
export type ProviderOptions = Readonly<Record<string, unknown>>;

/**
 * Creates a session for the ONNX file at `path` on the first provider of `providers` that loads.
 * Each provider that fails (for CUDA typically a missing shared library) gets one warning naming it,
 * the missing library when known, and the provider tried next; the chosen provider is logged at info.
 * A provider that fails because memory ran out is not skipped: falling back to the CPU would hide a
 * full device, so {@link SessionCreateError} is thrown at once and the caller may make room and retry.
 * Throws {@link SessionCreateError} when none works (including a model that is not valid ONNX).
 * `providerOptions` are the options of each provider that has some.
 */
export async function createSession(
  path: string,
  providers: readonly ProviderName[],
  log: SessionLog,
  options: Omit<InferenceSession.SessionOptions, "executionProviders"> = {},
  ortLogLevel: OrtLogLevel = "fatal",
  providerOptions: Partial<Record<ProviderName, ProviderOptions>> = {},
): Promise<CreatedSession> {
  if (providers.length === 0) throw new RangeError("no execution provider to try");
  // ONNX Runtime prints its own errors, in colour, before they reach us as exceptions; a missing CUDA
  // library would show up twice, the second time as our clearer warning. So by default it prints only
  // fatal errors (WORKER_ORT_LOG_LEVEL asks for more). The level is global and takes effect here.
  ortEnv.logLevel = ortLogLevel;
  const failures: ProviderFailure[] = [];
  for (const [index, provider] of providers.entries()) {
    try {
      const extra = providerOptions[provider];
      const executionProvider = extra === undefined ? provider : { ...extra, name: provider };
      const session = await InferenceSession.create(path, {
        ...options,
        executionProviders: [executionProvider],
      });
      log.info(
        { model: path, provider, fallbacks: failures.map((f) => f.provider) },
        `session for ${path} runs on ${provider}`,
      );
      return { session, provider, fallbacks: failures };
    } catch (error) {
      const failure = describeFailure(provider, error);
      failures.push(failure);
      const next = providers[index + 1];
      if (next === undefined || isOutOfMemory(failure.reason)) break;
      const library = failure.missingLibrary ? ` (missing library: ${failure.missingLibrary})` : "";
      log.warn(
        { model: path, provider, missingLibrary: failure.missingLibrary, reason: failure.reason, next },
        `ONNX Runtime execution provider "${provider}" is unavailable${library}; falling back to "${next}" for ${path}` +
          (provider === "cuda"
            ? ` (on a machine without a GPU, set WORKER_ORT_PROVIDERS=${next} to skip this attempt)`
            : ""),
      );
    }
  }
  throw new SessionCreateError(path, failures);
}

/** Where the `.so` files of the installed onnxruntime-node live; provider libraries must sit there too. */
export function onnxruntimeLibraryDir(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve("onnxruntime-node");
    return join(dirname(entry), "..", "bin", "napi-v6", platform(), arch());
  } catch {
    return undefined;
  }
}

/** The provider libraries ONNX Runtime loads from its own folder for each provider. */
const PROVIDER_LIBRARIES: Partial<Record<ProviderName, readonly string[]>> = {
  cuda: ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"],
  tensorrt: [
    "libonnxruntime_providers_shared.so",
    "libonnxruntime_providers_cuda.so",
    "libonnxruntime_providers_tensorrt.so",
  ],
};

/**
 * The reason a provider failed, and the missing shared library when there is one. ORT's own error
 * message names the library when a dependency of the provider is missing ("... with error:
 * libcublasLt.so.13: cannot open shared object file"); when it only says "Failed to load shared
 * library", the provider's own files are looked for next to `libonnxruntime.so.1`.
 */
export function describeFailure(provider: ProviderName, error: unknown): ProviderFailure {
  const reason = (error instanceof Error ? error.message : String(error)).trim().split("\n")[0] ?? "";
  const failure: ProviderFailure = { provider, reason };
  const named = /with error:\s*(?:\S*\/)?(lib[\w.+-]*\.so[\w.]*):\s*cannot open/.exec(reason)?.[1];
  const missing = named ?? missingProviderLibrary(provider);
  if (missing !== undefined) failure.missingLibrary = missing;
  return failure;
}

function missingProviderLibrary(provider: ProviderName): string | undefined {
  const dir = onnxruntimeLibraryDir();
  const libraries = PROVIDER_LIBRARIES[provider];
  if (dir === undefined || libraries === undefined) return undefined;
  const missing = libraries.find((name) => !existsSync(join(dir, name)));
  if (missing !== undefined) return join(dir, missing);
  // The provider's own files are there, so one of their dependencies is not (ONNX Runtime logs which,
  // but throws only "Failed to load shared library"): ask the dynamic linker.
  for (const name of libraries) {
    const dependency = unresolvedDependency(join(dir, name));
    if (dependency !== undefined) return dependency;
  }
  return undefined;
}

const unresolved = new Map<string, string | undefined>();

/**
 * The first shared library `library` needs that the dynamic linker cannot find (`ldd`'s "not found"),
 * e.g. `libcublasLt.so.13` on a host without CUDA 13; undefined when all resolve or ldd is missing.
 * Asked once per library and process.
 */
export function unresolvedDependency(library: string): string | undefined {
  if (unresolved.has(library)) return unresolved.get(library);
  let found: string | undefined;
  try {
    const output = execFileSync("ldd", [library], {
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    found = /^\s*(\S+)\s+=>\s+not found/m.exec(output)?.[1];
  } catch {
    found = undefined;
  }
  unresolved.set(library, found);
  return found;
}
