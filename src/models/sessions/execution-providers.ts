import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { dirname, join } from "node:path";
import { InferenceSession, env as ortEnv } from "onnxruntime-node";
import { UserError } from "../../contract/user-errors.js";
import type { Logger } from "../../host/logger.js";

/** Execution providers a worker may be configured with, in the spelling ONNX Runtime uses. */
export const ALLOWED_PROVIDERS = ["cuda", "cpu", "webgpu", "tensorrt"] as const;
export type ProviderName = (typeof ALLOWED_PROVIDERS)[number];

/** Used when `WORKER_ORT_PROVIDERS` is unset or blank: the GPU when it loads, else the CPU. */
export const DEFAULT_PROVIDERS: readonly ProviderName[] = ["cuda", "cpu"];

export class ProviderConfigError extends UserError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

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

/**
 * Parses `WORKER_ORT_PROVIDERS`: a comma-separated, ordered list (case and spaces ignored, repeats
 * dropped). Unset or blank gives {@link DEFAULT_PROVIDERS}; an unknown name is an error naming the
 * allowed values.
 */
export function parseProviders(raw: string | undefined = process.env.WORKER_ORT_PROVIDERS): ProviderName[] {
  const names = (raw ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 0) return [...DEFAULT_PROVIDERS];
  const unknown = names.filter((name) => !isProvider(name));
  if (unknown.length > 0) {
    throw new ProviderConfigError(
      `WORKER_ORT_PROVIDERS: unknown execution provider${unknown.length > 1 ? "s" : ""} ` +
        `${unknown.map((name) => JSON.stringify(name)).join(", ")}; allowed: ${ALLOWED_PROVIDERS.join(", ")}`,
    );
  }
  return [...new Set(names as ProviderName[])];
}

function isProvider(name: string): name is ProviderName {
  return (ALLOWED_PROVIDERS as readonly string[]).includes(name);
}

/**
 * Creates a session for the ONNX file at `path` on the first provider of `providers` that loads.
 * Each provider that fails (for CUDA typically a missing shared library) gets one warning naming it,
 * the missing library when known, and the provider tried next; the chosen provider is logged at info.
 * Throws {@link SessionCreateError} when none works (including a model that is not valid ONNX).
 */
export async function createSession(
  path: string,
  providers: readonly ProviderName[],
  log: SessionLog,
  options: Omit<InferenceSession.SessionOptions, "executionProviders"> = {},
): Promise<CreatedSession> {
  if (providers.length === 0) throw new ProviderConfigError("no execution provider to try");
  applyOrtLogLevel();
  const failures: ProviderFailure[] = [];
  for (const [index, provider] of providers.entries()) {
    try {
      const session = await InferenceSession.create(path, { ...options, executionProviders: [provider] });
      log.info(
        { model: path, provider, fallbacks: failures.map((f) => f.provider) },
        `session for ${path} runs on ${provider}`,
      );
      return { session, provider, fallbacks: failures };
    } catch (error) {
      const failure = describeFailure(provider, error);
      failures.push(failure);
      const next = providers[index + 1];
      if (next === undefined) break;
      const library = failure.missingLibrary ? ` (missing library: ${failure.missingLibrary})` : "";
      log.warn(
        { model: path, provider, missingLibrary: failure.missingLibrary, reason: failure.reason, next },
        `ONNX Runtime execution provider "${provider}" is unavailable${library}; falling back to "${next}" for ${path}`,
      );
    }
  }
  throw new SessionCreateError(path, failures);
}

const ORT_LOG_LEVELS = ["verbose", "info", "warning", "error", "fatal"] as const;

/**
 * ONNX Runtime prints its own errors, in colour, before they reach us as exceptions; a missing CUDA
 * library would show up twice, the second time as our clearer warning. So it only prints fatal
 * errors unless `WORKER_ORT_LOG_LEVEL` asks for more. It takes effect with the first session.
 */
function applyOrtLogLevel(): void {
  const wanted = (process.env.WORKER_ORT_LOG_LEVEL ?? "").trim().toLowerCase() || "fatal";
  if (!(ORT_LOG_LEVELS as readonly string[]).includes(wanted)) {
    throw new ProviderConfigError(
      `WORKER_ORT_LOG_LEVEL must be one of ${ORT_LOG_LEVELS.join(", ")}, got "${process.env.WORKER_ORT_LOG_LEVEL}"`,
    );
  }
  ortEnv.logLevel = wanted as (typeof ORT_LOG_LEVELS)[number];
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
  return missing === undefined ? undefined : join(dir, missing);
}
