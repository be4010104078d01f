import { type Environment, EnvReader, processEnvironment } from "./read.js";

/** Limits and folders of the task runtime. */
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
  /** Keep `<runDir>/<run_id>/` after the run ends (`WORKER_KEEP_RUN_DIRS`), for debugging. */
  keepRunDirs: boolean;
  /** Cozy file inputs are cached here across runs. */
  cacheDir: string;
  /** Size cap of that cache in bytes, least recently used files evicted first; 0 = no cap. */
  cacheMaxBytes: number;
  /** `host` or `host:port` that input URLs may reach although they resolve to private addresses. */
  inputUrlAllowHosts: string[];
  /** The Cozy file API for tasks that name none: base URL and token. */
  fileApi: { baseUrl?: string; token?: string };
  /** The largest frame of a realtime session, either way (`WORKER_MAX_WS_FRAME_BYTES`); above 0. */
  maxWsFrameBytes: number;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** Reads {@link RuntimeSettings} into `reader`, which collects the problems. */
export function readRuntimeSettings(reader: EnvReader): RuntimeSettings {
  const count = (name: string, fallback: number) => reader.count(name, fallback, "0 = unlimited");
  const runDir = reader.text("WORKER_RUN_DIR") ?? "/tmp/cozy";
  const baseUrl = reader.firstText("FILE_API_BASE_URL", "ORCHESTRATOR_HTTP_URL", "COZY_HUB_URL");
  const token = reader.firstText("FILE_API_TOKEN", "COZY_HUB_TOKEN");
  return {
    maxConcurrency: count("WORKER_MAX_CONCURRENCY", 0),
    maxInputBytes: count("WORKER_MAX_INPUT_BYTES", 0),
    maxOutputBytes: count("WORKER_MAX_OUTPUT_BYTES", 0),
    maxDeltaBytes: count("WORKER_MAX_OUTPUT_DELTA_BYTES", 65536),
    maxDeltaEvents: count("WORKER_MAX_OUTPUT_DELTA_EVENTS", 0),
    maxOutputFileBytes: count("WORKER_MAX_OUTPUT_FILE_BYTES", 200 * MIB),
    maxInputFileBytes: count("WORKER_MAX_INPUT_FILE_BYTES", 200 * MIB),
    downloadRetries: reader.count("WORKER_DOWNLOAD_RETRIES", 3),
    runDir,
    keepRunDirs: reader.flag("WORKER_KEEP_RUN_DIRS"),
    cacheDir: reader.text("WORKER_CACHE_DIR") ?? `${runDir}/cache`,
    cacheMaxBytes: reader.count("WORKER_CACHE_MAX_BYTES", 10 * GIB, "0 = no cap"),
    inputUrlAllowHosts: reader.list("WORKER_INPUT_URL_ALLOW_HOSTS"),
    fileApi: { ...(baseUrl ? { baseUrl } : {}), ...(token ? { token } : {}) },
    maxWsFrameBytes: reader.count("WORKER_MAX_WS_FRAME_BYTES", MIB, undefined, 1),
  };
}

/** {@link RuntimeSettings} of an environment; every malformed variable is reported, all at once. */
export function runtimeSettingsFromEnv(env: Environment = processEnvironment()): RuntimeSettings {
  const reader = new EnvReader(env);
  const settings = readRuntimeSettings(reader);
  reader.done();
  return settings;
}
