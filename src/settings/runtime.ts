import { UserError } from "../contract/user-errors.js";
/** Limits and folders of the task runtime, from the reference's environment variables. */
export interface RuntimeSettings {
  /** In-flight runs across the worker; 0 = unlimited. */
  maxConcurrency: number;
  /** Request payload bytes; 0 = unlimited. */
  maxInputBytes: number;
  /** Encoded single-output bytes; 0 = unlimited. */
  maxOutputBytes: number;
  /** JSON bytes of one delta before it is replaced by `{"truncated":true}`; 0 = unlimited. */
  maxDeltaBytes: number;
  /** Deltas after which a stream is stopped (the run still succeeds); 0 = unlimited. */
  maxDeltaEvents: number;
  maxOutputFileBytes: number;
  maxInputFileBytes: number;
  downloadRetries: number;
  /** Per-run input folders live under `<runDir>/<run_id>/inputs`. */
  runDir: string;
  /** Cozy file inputs are cached here across runs. */
  cacheDir: string;
  /** `host` or `host:port` that input URLs may reach although they resolve to private addresses. */
  inputUrlAllowHosts: string[];
}

/** Environment variables that are set wrongly; each problem names the variable and the fix. */
export class EnvironmentError extends UserError {
  declare readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join("\n"), { problems, exitCode: 2 });
  }
}

const MIB = 1024 * 1024;

/** Reads {@link RuntimeSettings}; every malformed variable is reported, all at once. */
export function runtimeSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimeSettings {
  const problems: string[] = [];
  const count = (name: string, fallback: number) => readCount(env, name, fallback, problems);
  const runDir = nonBlank(env.WORKER_RUN_DIR) ?? "/tmp/cozy";
  const settings: RuntimeSettings = {
    maxConcurrency: count("WORKER_MAX_CONCURRENCY", 0),
    maxInputBytes: count("WORKER_MAX_INPUT_BYTES", 0),
    maxOutputBytes: count("WORKER_MAX_OUTPUT_BYTES", 0),
    maxDeltaBytes: count("WORKER_MAX_OUTPUT_DELTA_BYTES", 65536),
    maxDeltaEvents: count("WORKER_MAX_OUTPUT_DELTA_EVENTS", 0),
    maxOutputFileBytes: count("WORKER_MAX_OUTPUT_FILE_BYTES", 200 * MIB),
    maxInputFileBytes: count("WORKER_MAX_INPUT_FILE_BYTES", 200 * MIB),
    downloadRetries: count("WORKER_DOWNLOAD_RETRIES", 3),
    runDir,
    cacheDir: nonBlank(env.WORKER_CACHE_DIR) ?? `${runDir}/cache`,
    inputUrlAllowHosts: (env.WORKER_INPUT_URL_ALLOW_HOSTS ?? "")
      .split(",")
      .map((host) => host.trim())
      .filter(Boolean),
  };
  if (problems.length > 0) throw new EnvironmentError(problems);
  return settings;
}

function readCount(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[]): number {
  const raw = nonBlank(env[name]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    problems.push(`${name} must be a whole number of 0 or more (0 = unlimited), got "${raw}"`);
    return fallback;
  }
  return value;
}

const TRUTHY = new Set(["1", "true", "t", "yes", "y"]);

/** An on/off environment variable: on for 1, true, t, yes or y (any case), off otherwise. */
export function envFlag(value: string | undefined): boolean {
  return TRUTHY.has((value ?? "").trim().toLowerCase());
}

function nonBlank(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
