import type { ManifestFunction } from "./manifest.js";
import type { ModelSpec } from "./model-spec.js";

/** Where a run found a model: loaded, on disk, or downloaded for it. */
export type CacheState = "hot_vram" | "warm_disk" | "cold_remote";

/** One entry of `metrics.run`'s `models`. */
export interface ModelRunMetrics {
  model_id: string;
  cache_state: CacheState;
  /** The commit (or digest) of the snapshot the sessions were made from. */
  snapshot_digest?: string;
  bytes_downloaded?: number;
  download_ms?: number;
  /**
   * For a key with `batch` in cozy.toml: per `session.run` call of this run on the model, in call order,
   * the rows of the ONNX Runtime call it ran in (its own rows when it ran alone, the batch's when it
   * joined other runs' calls); at most the first 64 calls.
   */
  batch_sizes?: number[];
}

export interface ModelsReport {
  models: ModelRunMetrics[];
  /** Time spent downloading this run's models (0 when all were on disk or loaded). */
  fetchMs: number;
  /** Time spent creating their sessions (0 when all were loaded). */
  loadMs: number;
}

/** The models of one run: loaded on demand, pinned until released. */
export interface ModelLease {
  /** The handler's model arguments, in `injection_json` order. */
  load(): Promise<unknown[]>;
  /** What the run's models cost so far; complete once `load` settled. */
  report(): ModelsReport;
  /** Unpins the models; safe to call more than once, and before `load` settled. */
  release(): void;
}

export interface ModelLeaseRequest {
  runId: string;
  fn: ManifestFunction;
  /** The function's keyspace (the manifest's `models_by_function[fn.name]`). */
  keyspace: Readonly<Record<string, ModelSpec>>;
  /** The validated payload (for `PayloadModel` fields). */
  payload: unknown;
  /** The run's cancellation: takes the run's calls out of batches that have not run yet. */
  signal?: AbortSignal;
}

/** What the executor asks of a model host (src/models/host/model-host.ts). */
export interface ModelProvider {
  lease(request: ModelLeaseRequest): ModelLease;
}

const STATE_RANK: Record<CacheState, number> = { hot_vram: 0, warm_disk: 1, cold_remote: 2 };

/** A run's cache state: the worst of its models'. */
export function worstCacheState(models: readonly ModelRunMetrics[]): CacheState | undefined {
  let worst: CacheState | undefined;
  for (const model of models) {
    if (worst === undefined || STATE_RANK[model.cache_state] > STATE_RANK[worst]) worst = model.cache_state;
  }
  return worst;
}
