import type { ErrorType } from "./errors.js";
import type { LogLevel } from "./handler-api.js";
import type { CacheState, ModelRunMetrics } from "./model-lease.js";

/**
 * Every event the worker emits, by name, with its payload. The gRPC adapter sends each as a
 * `WorkerEvent` (`event_type` = the name, `payload_json` = the payload); the dev runner lists
 * them in its response and streams them as server-sent events.
 */
export interface EventPayloads {
  /** A run started computing; `at` is RFC 3339 UTC with microseconds (`2026-11-27T02:18:14.897002Z`). */
  "metrics.compute.started": { at: string };
  "metrics.compute.completed": { at: string };
  /** Time spent downloading the run's models (runs that inject models). */
  "metrics.fetch": { ms: number };
  /** Time spent creating the run's sessions, when above 0. */
  "metrics.gpu_load": { ms: number };
  /** The handler's own time, on success only. */
  "metrics.inference": { ms: number };
  /** Always sent, also on failure, before the result. */
  "metrics.run": RunMetrics;
  /** One streamed item, or `{truncated: true}` when it was over `WORKER_MAX_OUTPUT_DELTA_BYTES`. */
  "output.delta": Record<string, unknown>;
  "output.completed": Record<string, never>;
  /** A streaming run failed; `message` is the safe message. */
  "output.error": { error_type: ErrorType; message: string };
  /** `ctx.progress`; `timestamp` in epoch seconds. */
  "job.progress": { progress: number; stage?: string; timestamp: number };
  /** `ctx.log`. */
  "job.log": { message: string; level: LogLevel; timestamp: number };
  /** A run_request for a run already in flight: its one result follows. */
  "run.duplicate": { state: "running" };
  "model.download.started": { model_id: string };
  /** `cached` with `duration_ms` 0 when the model was already on disk. */
  "model.download.completed": { model_id: string; cached: boolean; duration_ms: number };
  /** `error_type` is the failing error's class name. */
  "model.download.failed": { model_id: string; duration_ms: number; error_type: string };
  "model.ready": { model_id: string };
  "model.cached": DiskVolume & { model_variant_id: string };
  /** A download of a `cozy:` model got 401/403: asks the scheduler to sign its URLs again. */
  "model.url_refresh": { model_id: string };
  "model.load.started": { model_id: string };
  /**
   * `warmup_ms`: the synthetic first run of each session (docs/models.md, "Warm-up"), part of
   * `duration_ms`; absent when warm-up is off or no session could be warmed.
   */
  "model.load.completed": { model_id: string; duration_ms: number; error_type: ""; warmup_ms?: number };
  "model.load.failed": { model_id: string; duration_ms: number; error_type: "load_failed" };
  "model.unload.started": { model_id: string };
  "model.unload.completed": { model_id: string; duration_ms: number; error_type: "" };
  "model.unload.failed":
    | { model_id: string; reason: "in_use" }
    | { model_id: string; duration_ms: number; error_type: "unload_failed" };
  /**
   * Memory ran out creating (`phase` "load") or running (`phase` "run") a model's sessions although the
   * budget said it fit: the models not in use that were evicted to make room (least recently used
   * first), and whether the one retry that followed succeeded. When it did not, the run failed with a
   * retryable `resource` error. The worker's next registration reports the device memory read then.
   */
  "model.out_of_memory": {
    model_id: string;
    phase: "load" | "run";
    evicted: string[];
    freed_bytes: number;
    recovered: boolean;
  };
  /** The models on disk, sent with a registration when the set changed. */
  "models.disk_inventory": DiskVolume & { disk_models: string[] };
}

/** The name of an event the runtime emits. */
export type EventName = keyof EventPayloads;

/** An event of the runtime's catalogue. `runId` is `""` for model and inventory events. */
export type CatalogueEvent = {
  [K in EventName]: { runId: string; type: K; payload: EventPayloads[K] };
}[EventName];

/** An event a handler sent with `ctx.emit(name, payload)`; `payload` carries a `timestamp`. */
export interface CustomEvent {
  runId: string;
  type: "custom";
  name: string;
  payload: Record<string, unknown>;
}

/** Any event the worker emits. */
export type RunEvent = CatalogueEvent | CustomEvent;

export type EventSink = (event: RunEvent) => void;

/** The name an event travels under: its catalogue name, or the name a handler gave it. */
export function eventName(event: RunEvent): string {
  return event.type === "custom" ? event.name : event.type;
}

/** Event names a handler may not use with `ctx.emit`: they belong to the runtime. */
export const RESERVED_EVENT_PREFIXES = ["output.", "metrics.", "model.", "models.", "job."] as const;

/** The volume holding the model cache, as `model.cached` and `models.disk_inventory` describe it. */
export interface DiskVolume {
  disk_backend: "local" | "nfs";
  disk_fstype: string;
  /** sha256 hex of `<fstype>|<source>|<mountpoint>`; the raw mount source is never sent. */
  disk_volume_key: string;
}

/** `metrics.run`: always `schema_version` and `function_name`, the other keys only when known. */
export interface RunMetrics {
  schema_version: 1;
  function_name: string;
  /** The worst of the run's models: `hot_vram`, `warm_disk` or `cold_remote`. */
  cache_state?: CacheState;
  models?: ModelRunMetrics[];
  gpu_load_ms?: number;
  inference_ms?: number;
  /**
   * The Python SDK's hints from the payload's declared fields, when they are numbers: `steps`
   * (`num_inference_steps`, else `steps`), `width`, `height`, `guidance` (`guidance_scale`, else
   * `guidance`); `iters_per_s` = `steps` per second of `inference_ms`, on success.
   */
  steps?: number;
  iters_per_s?: number;
  width?: number;
  height?: number;
  guidance?: number;
  peak_ram_bytes: number;
}
