import { type HostSettings, readHostSettings } from "./host.js";
import { type ModelSettings, readModelSettings } from "./models.js";
import { type Environment, EnvReader, processEnvironment } from "./read.js";
import { type RuntimeSettings, readRuntimeSettings } from "./runtime.js";
import { type SchedulerAddress, SchedulerAddressError, schedulerAddresses } from "./scheduler-address.js";

/** Backoff between connection attempts (see `reconnectDelayMs` in src/adapters/grpc/backoff.ts). */
export interface ReconnectPolicy {
  /** Delay after the first failure; doubles per consecutive failure. */
  baseDelayMs: number;
  /** Cap on the doubled delay; 0 = no cap. */
  maxDelayMs: number;
  /** Uniform random extra delay, 0 … jitterMs. */
  jitterMs: number;
  /** Consecutive failures after which the worker gives up; 0 = never. */
  maxAttempts: number;
}

/** Optional start-up verification of `WORKER_JWT`. */
export interface JwksCheck {
  url: string;
  ttlSeconds: number;
  issuer?: string;
  audience?: string;
}

/** Everything `cozy-worker serve` reads from its environment. */
export interface WorkerSettings {
  /** `SCHEDULER_ADDR` then `SCHEDULER_ADDRS`, de-duplicated; never empty. */
  addresses: SchedulerAddress[];
  jwt: string;
  /** For logs only: the scheduler takes the worker's identity from the JWT. */
  workerId: string;
  runpodPodId: string;
  jwks?: JwksCheck;
  reconnect: ReconnectPolicy;
  heartbeatMs: number;
  /** How long SIGTERM waits for in-flight runs before cancelling them; 0 = cancel at once. */
  drainTimeoutMs: number;
  /** Messages kept while the stream is down; 0 = no limit. */
  outboxLimit: number;
  /** gRPC keepalive: a ping every `timeMs`, the link declared dead when one is unanswered for `timeoutMs`. */
  keepalive: { timeMs: number; timeoutMs: number };
  /** A connection attempt not ready within this long is abandoned (then retried with backoff). */
  connectTimeoutMs: number;
  /** The largest message the scheduler accepts (gRPC's default receive limit is 4 MiB). */
  maxSendMessageBytes: number;
  runtime: RuntimeSettings;
  models: ModelSettings;
  host: HostSettings;
}

/**
 * Reads {@link WorkerSettings}. Throws {@link EnvironmentError} listing every problem (its own and
 * those of `runtimeSettingsFromEnv`), one sentence each with the fix. Blank values count as unset.
 *
 * Deliberate differences from the Python SDK: `RECONNECT_DELAY` defaults to 1 s (not 5) and
 * `RECONNECT_MAX_DELAY` to 30 s (not 60), because the delay also applies after a stream drops
 * (the Python SDK re-dialled those with no delay at all).
 */
export function workerSettingsFromEnv(env: Environment = processEnvironment()): WorkerSettings {
  const reader = new EnvReader(env);
  const problems = reader.problems;

  let addresses: SchedulerAddress[] = [];
  try {
    addresses = schedulerAddresses(
      reader.text("SCHEDULER_ADDR"),
      reader.text("SCHEDULER_ADDRS"),
      reader.text("USE_TLS"),
    );
  } catch (error) {
    if (!(error instanceof SchedulerAddressError)) throw error;
    problems.push(...error.problems);
  }

  const jwt = reader.text("WORKER_JWT");
  if (jwt === undefined) {
    problems.push(
      "WORKER_JWT is not set: the worker needs the token the scheduler issued for it to authenticate; " +
        "set WORKER_JWT to that token (deployments normally inject it)",
    );
  }

  const jwks = readJwksCheck(reader, problems);
  const reconnect: ReconnectPolicy = {
    baseDelayMs: reader.seconds("RECONNECT_DELAY", 1),
    maxDelayMs: reader.seconds("RECONNECT_MAX_DELAY", 30, "0 = no cap"),
    jitterMs: reader.seconds("RECONNECT_JITTER_SECONDS", 1),
    maxAttempts: reader.count("MAX_RECONNECT_ATTEMPTS", 0, "0 = retry forever"),
  };
  const heartbeatMs = reader.seconds("WORKER_HEARTBEAT_SECONDS", 10);
  const heartbeatRaw = reader.text("WORKER_HEARTBEAT_SECONDS");
  if (heartbeatRaw !== undefined && heartbeatMs < 1) {
    problems.push(
      `WORKER_HEARTBEAT_SECONDS must be at least 0.001 (the scheduler forgets silent workers), got "${heartbeatRaw}"; leave it unset for 10`,
    );
  }
  const drainTimeoutMs = reader.seconds("WORKER_DRAIN_TIMEOUT_SECONDS", 30, "0 = cancel runs at once");
  const outboxLimit = reader.count("WORKER_OUTBOX_MAX_MESSAGES", 10000, "0 = no limit");
  const keepalive = {
    timeMs: positiveSeconds(reader, "WORKER_KEEPALIVE_TIME_SECONDS", 10),
    timeoutMs: positiveSeconds(reader, "WORKER_KEEPALIVE_TIMEOUT_SECONDS", 10),
  };
  const connectTimeoutMs = positiveSeconds(reader, "WORKER_CONNECT_TIMEOUT_SECONDS", 10);
  const maxSendMessageBytes = reader.count("WORKER_MAX_SEND_MESSAGE_BYTES", 4 * 1024 * 1024, undefined, 1024);

  const runtime = readRuntimeSettings(reader);
  const models = readModelSettings(reader);
  const host = readHostSettings(reader);
  reader.done();
  if (jwt === undefined) throw new Error("unreachable: a missing WORKER_JWT is a problem");
  const settings: WorkerSettings = {
    addresses,
    jwt,
    workerId: reader.text("WORKER_ID") ?? `ts-worker-${process.pid}`,
    runpodPodId: reader.text("RUNPOD_POD_ID") ?? "",
    reconnect,
    heartbeatMs,
    drainTimeoutMs,
    outboxLimit,
    keepalive,
    connectTimeoutMs,
    maxSendMessageBytes,
    runtime,
    models,
    host,
  };
  if (jwks) settings.jwks = jwks;
  return settings;
}

/** A duration in seconds that must be above 0 (at least 1 ms). */
function positiveSeconds(reader: EnvReader, name: string, fallbackSeconds: number): number {
  const ms = reader.seconds(name, fallbackSeconds);
  if (ms < 1) {
    reader.problem(
      `${name} must be above 0 (e.g. 1 or 0.5), got "${reader.text(name)}"; leave it unset for ${fallbackSeconds}`,
    );
    return fallbackSeconds * 1000;
  }
  return ms;
}

function readJwksCheck(reader: EnvReader, problems: string[]): JwksCheck | undefined {
  const url = reader.text("SCHEDULER_JWKS_URL");
  const ttlSeconds = reader.seconds("SCHEDULER_JWKS_TTL_SECONDS", 300) / 1000;
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(
      `SCHEDULER_JWKS_URL "${url}" is not a URL: set it to the scheduler's JWKS address, e.g. https://scheduler.example.com/.well-known/jwks.json, or unset it to skip the check`,
    );
    return undefined;
  }
  const protocol = parsed.protocol;
  if (protocol !== "http:" && protocol !== "https:") {
    problems.push(
      `SCHEDULER_JWKS_URL "${url}" uses ${protocol.slice(0, -1)}: only http and https URLs can be fetched; use an https:// URL or unset it to skip the check`,
    );
    return undefined;
  }
  if (parsed.username || parsed.password) {
    problems.push(
      `SCHEDULER_JWKS_URL (${protocol}//${parsed.host}${parsed.pathname}) contains a user name or password, which cannot be sent that way: remove them from the URL`,
    );
    return undefined;
  }
  const check: JwksCheck = { url, ttlSeconds };
  const issuer = reader.text("SCHEDULER_JWT_ISSUER");
  const audience = reader.text("SCHEDULER_JWT_AUDIENCE");
  if (issuer !== undefined) check.issuer = issuer;
  if (audience !== undefined) check.audience = audience;
  return check;
}
