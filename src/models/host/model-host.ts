import { join } from "node:path";
import type { InferenceSession } from "onnxruntime-node";
import pLimit from "p-limit";
import { AuthError, CanceledError } from "../../contract/errors.js";
import type { DiskVolume, EventName, EventPayloads, EventSink, RunEvent } from "../../contract/events.js";
import type { Manifest } from "../../contract/manifest.js";
import type {
  ModelLease,
  ModelLeaseRequest,
  ModelProvider,
  ModelRunMetrics,
  ModelsReport,
} from "../../contract/model-lease.js";
import { canonicalizeModelRef, parseModelRef } from "../../contract/model-ref.js";
import type { Dtype, ModelSpec } from "../../contract/model-spec.js";
import type { ModelInventory, ReleaseModels, ResolvedCozyModel } from "../../contract/scheduler.js";
import type { MachineInfo } from "../../host/machine-info.js";
import type { ModelSettings, OrtLogLevel, ProviderName } from "../../settings/models.js";
import { formatGiB } from "../../util/format-bytes.js";
import { SessionServing, servedSession } from "../serving/served-session.js";
import {
  DeviceCache,
  deviceBudget,
  type EvictionReport,
  estimateModelBytes,
  loadAndMeasure,
  type ModelSessions,
} from "../sessions/device-cache.js";
import type { SessionLog } from "../sessions/execution-providers.js";
import { defaultSessionFactory, type SessionFactory } from "../sessions/session-factory.js";
import { warmUp } from "../sessions/warmup.js";
import { digestHex } from "../sources/cozy-hub.js";
import { HfSelectionError, onnxGraphsOf } from "../sources/hf-file-selection.js";
import { ModelDiskCache, type SnapshotInfo } from "../store/disk-cache.js";
import { diskVolumeOf } from "../store/disk-volume.js";
import { ensureSnapshot, type ModelSnapshot } from "../store/ensure-snapshot.js";
import { type DeviceMemoryReading, MemoryRelief, type OutOfMemoryReport } from "./memory-relief.js";
import { DeviceMemoryError, modelErrorClass, modelLoadError } from "./model-errors.js";
import { modelHandle } from "./model-handle.js";
import { type ModelChoice, manifestModelIds, resolveInjection, specForModel } from "./model-selection.js";

export type { DeviceMemoryReading, OutOfMemoryReport } from "./memory-relief.js";

/** One model of a prefetch: `errorType` is the failure's class name, the hub's where it had one. */
export type PrefetchOutcome =
  | { modelId: string; ok: true }
  | { modelId: string; ok: false; errorType: string; message: string };

export interface ModelHostOptions {
  diskCache: ModelDiskCache;
  deviceCache: DeviceCache;
  providers: readonly ProviderName[];
  /** ONNX Runtime's own log level; default `fatal`. */
  ortLogLevel?: OrtLogLevel;
  /** `COZY_HF_WEIGHT_PRECISIONS`: the dtypes preferred for every model, over each spec's. */
  dtypesOverride?: readonly Dtype[];
  log: SessionLog;
  /** The keyspaces (known model ids and their dtypes, for commands and prefetch). */
  manifest?: Manifest;
  /** Receives the `model.*` events (run id ""). */
  onEvent?: EventSink;
  /** Called when a model is loaded, unloaded, evicted, or appears on or leaves the disk. */
  onInventoryChange?: () => void;
  /** Models prefetched at once (`WORKER_MAX_CONCURRENT_DOWNLOADS`). */
  prefetchConcurrency: number;
  /** Creates each session; default: the providers' first that loads, with the spec's options. */
  sessionFactory?: SessionFactory;
  /** Warm each new session with a synthetic run before the model counts as loaded (default true). */
  warmup?: boolean;
  /** Device memory now, read after running out of it; default: nvidia-smi on a GPU machine. */
  readDeviceMemory?: () => Promise<DeviceMemoryReading | undefined>;
}

/** What loading a model cost, shared by every run that waited for that load. */
interface LoadOutcome {
  cached: boolean;
  downloadMs: number;
  bytesDownloaded: number;
  loadMs: number;
  /** The synthetic first runs of the sessions, when any was warmed. */
  warmupMs?: number;
}

interface LoadedModel {
  dir: string;
  /** The commit (or digest) of the snapshot: what follows `@` in its pinned ref. */
  digest: string | undefined;
  unpinDisk: () => void;
}

interface Fetched {
  snapshot: ModelSnapshot;
  ms: number;
}

/** Times a run tries to get a model that other loads keep evicting before giving up. */
const ACQUIRE_ATTEMPTS = 3;

/**
 * Turns injections into loaded ONNX Runtime sessions: resolves each through the keyspace, makes sure
 * its snapshot is on disk ({@link ModelDiskCache}), creates one session per `.onnx` graph, keeps them
 * in the {@link DeviceCache} (LRU by bytes) and pins them while runs use them. Downloads and loads of
 * the same model are single-flight. Also serves the scheduler's load, unload and prefetch requests
 * and reports what is loaded and on disk.
 */
export class ModelHost implements ModelProvider {
  private manifest: Manifest | undefined;
  private releaseModels: ReleaseModels | undefined;
  private readonly fetching = new Map<string, Promise<Fetched>>();
  private volume: Promise<DiskVolume> | undefined;
  private readonly loading = new Map<string, Promise<LoadOutcome>>();
  private readonly loaded = new Map<string, LoadedModel>();
  /** Snapshot folders of the models fetched by this process. */
  private readonly fetched = new Map<string, string>();
  private diskModels: string[] = [];
  /** The scheduler's presigned URLs for `cozy:` models, by canonical model id; the newest wins. */
  private readonly resolvedCozy = new Map<string, ResolvedCozyModel>();
  private refreshing: Promise<void> = Promise.resolve();
  private readonly createOne: SessionFactory;
  /** Each loaded session's batching and recovery, shared by the runs that use it. */
  private readonly servings = new WeakMap<InferenceSession, SessionServing>();
  private readonly relief: MemoryRelief;

  constructor(private readonly options: ModelHostOptions) {
    this.manifest = options.manifest;
    this.createOne =
      options.sessionFactory ??
      defaultSessionFactory({
        providers: options.providers,
        log: options.log,
        ...(options.ortLogLevel ? { ortLogLevel: options.ortLogLevel } : {}),
      });
    this.relief = new MemoryRelief({
      device: options.deviceCache,
      log: options.log,
      onEvicted: (report) => this.evicted(report),
      emit: (payload) => this.emit("model.out_of_memory", payload),
      ...(options.onInventoryChange ? { onReport: options.onInventoryChange } : {}),
      ...(options.readDeviceMemory ? { readDeviceMemory: options.readDeviceMemory } : {}),
    });
  }

  /** Times memory ran out creating or running sessions since the host started. */
  get outOfMemoryEvents(): number {
    return this.relief.count;
  }

  /**
   * The last out-of-memory failure not yet reported, once: the worker's next registration carries it
   * (src/adapters/grpc/registration.ts), and later ones go back to the usual figures.
   */
  takeOutOfMemoryReport(): OutOfMemoryReport | undefined {
    return this.relief.take();
  }

  /** Model loads (download or session creation) in flight. */
  get loadsInFlight(): number {
    return this.loading.size + this.fetching.size;
  }

  get device(): DeviceCache {
    return this.options.deviceCache;
  }

  /** The volume the disk cache lies on, for inventory events (read once). */
  diskVolume(): Promise<DiskVolume> {
    this.volume ??= diskVolumeOf(this.options.diskCache.dir);
    return this.volume;
  }

  /** A later manifest (the dev runner's reload); loaded models stay loaded. */
  setManifest(manifest: Manifest): void {
    this.manifest = manifest;
  }

  /** The scheduler's release keyspace and allowlist (`DeploymentArtifactConfig`). */
  setRelease(release: ReleaseModels): void {
    this.releaseModels = {
      refByKey: Object.fromEntries(
        Object.entries(release.refByKey).map(([key, ref]) => [key, canonicalizeModelRef(ref)]),
      ),
      allowed: release.allowed.map(canonicalizeModelRef),
    };
  }

  /**
   * Presigned URLs for `cozy:` models (`resolved_cozy_models_by_variant_ref` of the deployment config,
   * `resolved_cozy_models_by_id` of a task), by model id. They replace the ones held for the same
   * models, since presigned URLs expire; the others are kept.
   */
  setResolvedCozyModels(byModelId: Readonly<Record<string, ResolvedCozyModel>>): void {
    for (const [modelId, resolved] of Object.entries(byModelId)) {
      this.resolvedCozy.set(canonicalizeModelRef(modelId), resolved);
    }
  }

  inventory(): ModelInventory {
    return { vramModels: this.device.getVramModels(), diskModels: [...this.diskModels] };
  }

  /** The Python SDK `ModelCache` stats (the dev runner's `/v1/status` `model_cache`), plus pins. */
  stats(): Record<string, unknown> {
    const device = this.device.stats();
    return {
      vram_models: device.vramModels,
      disk_models: [...this.diskModels],
      downloading_models: [...this.fetching.keys()].sort(),
      pinned_models: device.pinnedModels,
      device: device.device,
      vram_used_gb: device.vramUsedGb,
      vram_total_gb: device.vramTotalGb,
      vram_available_gb: device.vramAvailableGb,
      total_models: new Set([...device.vramModels, ...this.diskModels]).size,
      vram_model_count: device.vramModelCount,
      disk_model_count: this.diskModels.length,
    };
  }

  lease(request: ModelLeaseRequest): ModelLease {
    const acquired: string[] = [];
    let released = false;
    const report: ModelsReport = { models: [], fetchMs: 0, loadMs: 0 };
    const load = async (): Promise<unknown[]> => {
      const { fn, keyspace, payload } = request;
      const choices = fn.injection_json.map((injection) =>
        resolveInjection(injection, fn.name, keyspace, payload, this.releaseModels),
      );
      const sessions = new Map<string, ModelSessions>();
      for (const choice of choices) {
        if (sessions.has(choice.modelId)) continue;
        const got = await this.acquire(choice.modelId, choice.spec);
        if (released) {
          this.device.release(choice.modelId);
          throw new CanceledError("the run ended while its models were loading");
        }
        acquired.push(choice.modelId);
        sessions.set(choice.modelId, got.sessions);
        report.models.push(got.metrics);
        report.fetchMs += got.outcome?.downloadMs ?? 0;
        report.loadMs += got.outcome?.loadMs ?? 0;
      }
      return choices.map((choice) =>
        modelHandle({
          key: choice.key,
          ref: choice.modelId,
          path: this.loaded.get(choice.modelId)?.dir ?? "",
          sessions: this.serve(
            choice,
            sessions.get(choice.modelId) as ModelSessions,
            request.signal,
            report.models.find((metrics) => metrics.model_id === choice.modelId),
          ),
          ...(choice.field === undefined ? {} : { field: choice.field }),
        }),
      );
    };
    return {
      load,
      report: () => report,
      release: () => {
        released = true;
        for (const modelId of acquired.splice(0)) this.device.release(modelId);
      },
    };
  }

  /** `load_model_cmd`: downloads if needed and creates the sessions; not pinned, so LRU may evict it. */
  async loadModel(modelIdInput: string): Promise<void> {
    const modelId = canonicalizeModelRef(modelIdInput);
    if (this.device.isInVram(modelId)) return;
    await this.ensureLoaded(modelId, specForModel(modelId, this.manifest));
  }

  /** `unload_model_cmd`: releases the sessions; refused while a run uses the model. */
  async unloadModel(
    modelIdInput: string,
  ): Promise<{ unloaded: true } | { unloaded: false; reason: "in_use" | "not_loaded"; message: string }> {
    const modelId = canonicalizeModelRef(modelIdInput);
    this.emit("model.unload.started", { model_id: modelId });
    const started = performance.now();
    const result = await this.device.unload(modelId);
    if (!result.unloaded) {
      this.emit(
        "model.unload.failed",
        result.reason === "in_use"
          ? { model_id: modelId, reason: "in_use" }
          : { model_id: modelId, duration_ms: elapsed(started), error_type: "unload_failed" },
      );
      return result;
    }
    this.forget(modelId);
    this.emit("model.unload.completed", { model_id: modelId, duration_ms: elapsed(started), error_type: "" });
    this.options.onInventoryChange?.();
    return { unloaded: true };
  }

  /**
   * Downloads the models (`required_variant_refs`) into the disk cache, a few at a time; failures are
   * logged, reported as `model.download.failed` and returned, never thrown.
   */
  async prefetch(modelIds: readonly string[]): Promise<PrefetchOutcome[]> {
    const limit = pLimit(this.options.prefetchConcurrency);
    const ids = [...new Set(modelIds.map(canonicalizeModelRef))];
    return Promise.all(
      ids.map((modelId) =>
        limit(async (): Promise<PrefetchOutcome> => {
          try {
            await this.fetch(modelId, specForModel(modelId, this.manifest));
            return { modelId, ok: true };
          } catch (error) {
            const failure = error as Error;
            this.options.log.warn(
              { model: modelId, error: failure.message },
              `prefetch of ${modelId} failed`,
            );
            return { modelId, ok: false, errorType: modelErrorClass(failure), message: failure.message };
          }
        }),
      ),
    );
  }

  /**
   * Re-reads which known models (the keyspaces', the release's and those fetched here) have a snapshot
   * in the disk cache; an `hf:` ref counts when a snapshot of its repo at its revision is there, a
   * `cozy:` ref when one of its repo with its digest, or last pulled as its tag, is.
   */
  refreshDiskInventory(): Promise<void> {
    this.refreshing = this.refreshing
      .then(() => this.readDiskInventory())
      .catch((error: unknown) => {
        this.options.log.warn({ error: (error as Error).message }, "reading the model disk cache failed");
      });
    return this.refreshing;
  }

  /** Releases every unpinned model's sessions (shutdown). */
  async close(): Promise<void> {
    for (const modelId of this.device.getVramModels()) {
      if ((await this.device.unload(modelId)).unloaded) this.forget(modelId);
    }
  }

  private async readDiskInventory(): Promise<void> {
    const snapshots = await this.options.diskCache.listSnapshots();
    const dirs = new Set(snapshots.map((info) => info.dir));
    const present = new Set<string>();
    for (const [modelId, dir] of this.fetched) {
      if (dirs.has(dir)) present.add(modelId);
      else this.fetched.delete(modelId);
    }
    const release = this.releaseModels;
    const known = [
      ...manifestModelIds(this.manifest),
      ...Object.values(release?.refByKey ?? {}),
      ...(release?.allowed ?? []),
    ];
    for (const modelId of known)
      if (!present.has(modelId) && hasSnapshot(modelId, snapshots)) present.add(modelId);
    const next = [...present].sort();
    if (next.join("\n") === this.diskModels.join("\n")) return;
    this.diskModels = next;
    this.options.onInventoryChange?.();
  }

  /** Pins a loaded model for a run, loading it first (once, whoever else waits) when it is not. */
  private async acquire(
    modelId: string,
    spec: ModelSpec,
  ): Promise<{ sessions: ModelSessions; metrics: ModelRunMetrics; outcome?: LoadOutcome }> {
    let outcome: LoadOutcome | undefined;
    for (let attempt = 0; ; attempt++) {
      // Checked and pinned in one synchronous step: nothing can evict the model in between.
      if (this.device.isInVram(modelId)) {
        const sessions = this.device.acquire(modelId);
        const digest = this.loaded.get(modelId)?.digest;
        const metrics: ModelRunMetrics = {
          model_id: modelId,
          cache_state: outcome === undefined ? "hot_vram" : outcome.cached ? "warm_disk" : "cold_remote",
          ...(digest === undefined ? {} : { snapshot_digest: digest }),
          ...(outcome && !outcome.cached
            ? { bytes_downloaded: outcome.bytesDownloaded, download_ms: outcome.downloadMs }
            : {}),
        };
        return outcome ? { sessions, metrics, outcome } : { sessions, metrics };
      }
      if (attempt === ACQUIRE_ATTEMPTS) {
        throw new DeviceMemoryError(
          `model ${modelId} was evicted by other loads before this run could use it: too many models compete for the session memory budget (WORKER_MAX_VRAM_GB)`,
        );
      }
      const loaded = await this.ensureLoaded(modelId, spec);
      outcome ??= loaded;
    }
  }

  private ensureLoaded(modelId: string, spec: ModelSpec): Promise<LoadOutcome> {
    return singleFlight(this.loading, modelId, () => this.load(modelId, spec));
  }

  private async load(modelId: string, spec: ModelSpec): Promise<LoadOutcome> {
    const { diskCache, log } = this.options;
    this.emit("model.load.started", { model_id: modelId });
    const started = performance.now();
    let fetched: Fetched;
    let sessionsStarted = started;
    let unpinDisk: (() => void) | undefined;
    let warmupMs: number | undefined;
    try {
      fetched = await this.fetch(modelId, spec);
      const { snapshot } = fetched;
      sessionsStarted = performance.now();
      unpinDisk = diskCache.pin(snapshot.dir);
      const graphs = onnxGraphsOf(
        snapshot.files.map((file) => file.path),
        this.options.dtypesOverride ?? spec.dtypes,
      );
      if (graphs.length === 0) {
        throw new HfSelectionError(
          `${snapshot.ref} has no ONNX graph (.onnx file) among its files (${snapshot.files.map((f) => f.path).join(", ")}): use a repo with an ONNX export, or name the .onnx files with files = [...] in cozy.toml`,
        );
      }
      const graphFiles = graphs.flatMap((graph) =>
        [graph.file, ...graph.externalData].map((path) => join(snapshot.dir, ...path.split("/"))),
      );
      // Room is made first, with the files' size, so that memory is free when ORT allocates.
      const estimate = await estimateModelBytes(graphFiles);
      this.evicted(await this.device.makeRoom(estimate, modelId));
      const { value: created, sizeBytes } = await loadAndMeasure(
        estimate,
        () =>
          this.relief.attempt(modelId, "load", estimate, () =>
            this.createSessions(snapshot.dir, graphs, spec),
          ),
        this.device.device,
      );
      const { sessions } = created;
      warmupMs = created.warmupMs;
      try {
        this.evicted(await this.device.markLoadedToVram(modelId, sessions, sizeBytes));
      } catch (error) {
        await releaseSessions(Object.values(sessions));
        throw error;
      }
      this.loaded.set(modelId, { dir: snapshot.dir, digest: snapshot.ref.split("@")[1], unpinDisk });
    } catch (error) {
      unpinDisk?.();
      const failure = modelLoadError(modelId, error);
      this.emit("model.load.failed", {
        model_id: modelId,
        duration_ms: elapsed(started),
        error_type: "load_failed",
      });
      log.warn({ model: modelId, error: failure.message }, `loading ${modelId} failed`);
      throw failure;
    }
    const { snapshot } = fetched;
    const loadMs = elapsed(sessionsStarted);
    this.emit("model.load.completed", {
      model_id: modelId,
      duration_ms: elapsed(started),
      error_type: "",
      ...(warmupMs === undefined ? {} : { warmup_ms: warmupMs }),
    });
    this.options.onInventoryChange?.();
    return {
      cached: snapshot.cached,
      downloadMs: snapshot.cached ? 0 : fetched.ms,
      bytesDownloaded: snapshot.cached ? 0 : snapshot.bytes,
      loadMs,
      ...(warmupMs === undefined ? {} : { warmupMs }),
    };
  }

  /**
   * One session per graph, each warmed (unless warm-up is off) before the model counts as loaded;
   * on any failure the sessions made so far are released.
   */
  private async createSessions(
    dir: string,
    graphs: readonly { graph: string; file: string }[],
    spec: ModelSpec,
  ): Promise<{ sessions: Record<string, InferenceSession>; warmupMs?: number }> {
    const sessions: Record<string, InferenceSession> = {};
    let warmupMs: number | undefined;
    try {
      for (const graph of graphs) {
        sessions[graph.graph] = await this.createOne(join(dir, ...graph.file.split("/")), spec);
      }
      if (this.options.warmup !== false) {
        for (const [graph, session] of Object.entries(sessions)) {
          const result = await warmUp(session);
          if (result.warmed) warmupMs = (warmupMs ?? 0) + result.ms;
          else {
            this.options.log.info(
              { model: spec.ref, graph, reason: result.reason },
              `${spec.ref} ${graph} was not warmed up (${result.reason}); its first request pays ONNX Runtime's first-run cost`,
            );
          }
        }
      }
    } catch (error) {
      await releaseSessions(Object.values(sessions));
      throw error;
    }
    return warmupMs === undefined ? { sessions } : { sessions, warmupMs: Math.round(warmupMs * 10) / 10 };
  }

  /** The run's view of a model's sessions: batching per the key's spec, recovery, cancellation. */
  private serve(
    choice: ModelChoice,
    sessions: ModelSessions,
    signal: AbortSignal | undefined,
    metrics: ModelRunMetrics | undefined,
  ): Record<string, InferenceSession> {
    const batch = choice.spec.batch;
    const onRun =
      batch && metrics
        ? (rows: number) => {
            metrics.batch_sizes ??= [];
            if (metrics.batch_sizes.length < MAX_BATCH_SIZES) metrics.batch_sizes.push(rows);
          }
        : undefined;
    return Object.fromEntries(
      Object.entries(sessions).map(([graph, session]) => {
        let serving = this.servings.get(session);
        if (serving === undefined) {
          serving = new SessionServing(
            session,
            `${choice.modelId} ${graph}`,
            this.relief.guard(choice.modelId),
            this.options.log,
          );
          this.servings.set(session, serving);
        }
        return [
          graph,
          servedSession(serving, {
            ...(batch ? { batch } : {}),
            ...(signal ? { signal } : {}),
            ...(onRun ? { onRun } : {}),
          }),
        ];
      }),
    );
  }

  /**
   * Makes sure the model's snapshot is on disk, once however many runs and prefetches ask, with the
   * reference's `model.download.*`, `model.ready` and `model.cached` events.
   */
  private fetch(modelId: string, spec: ModelSpec): Promise<Fetched> {
    return singleFlight(this.fetching, modelId, () => this.download(modelId, spec));
  }

  private async download(modelId: string, spec: ModelSpec): Promise<Fetched> {
    const started = performance.now();
    let announced = false;
    const announce = () => {
      if (announced) return;
      announced = true;
      this.emit("model.download.started", { model_id: modelId });
    };
    let snapshot: ModelSnapshot;
    try {
      snapshot = await ensureSnapshot(
        this.options.diskCache,
        parseModelRef(spec.ref),
        spec,
        { pin: true, onProgress: announce },
        this.resolvedCozy.get(modelId),
      );
    } catch (error) {
      const failure = modelLoadError(modelId, error);
      // A 401/403 (an expired presigned URL) asks the scheduler to re-sign them.
      if (modelId.startsWith("cozy:") && failure instanceof AuthError) {
        this.emit("model.url_refresh", { model_id: modelId });
      }
      this.emit("model.download.failed", {
        model_id: modelId,
        duration_ms: elapsed(started),
        error_type: (error as Error).name ?? "Error",
      });
      throw failure;
    }
    const ms = elapsed(started);
    if (!snapshot.cached) announce();
    this.emit("model.download.completed", {
      model_id: modelId,
      cached: snapshot.cached,
      duration_ms: snapshot.cached ? 0 : ms,
    });
    this.emit("model.ready", { model_id: modelId });
    this.emit("model.cached", { model_variant_id: modelId, ...(await this.diskVolume()) });
    this.fetched.set(modelId, snapshot.dir);
    await this.refreshDiskInventory();
    // This pin only bridges to the callers: they take their own (synchronously, when this promise
    // settles) before the next macrotask releases it.
    setImmediate(snapshot.release);
    return { snapshot, ms };
  }

  /** Models the device cache evicted to make room: their snapshots may leave the disk again. */
  private evicted(report: EvictionReport): void {
    if (report.evicted.length === 0) return;
    for (const { modelId } of report.evicted) this.forget(modelId);
    this.options.onInventoryChange?.();
  }

  private forget(modelId: string): void {
    this.loaded.get(modelId)?.unpinDisk();
    this.loaded.delete(modelId);
  }

  private emit<K extends EventName>(type: K, payload: EventPayloads[K]): void {
    try {
      this.options.onEvent?.({ runId: "", type, payload } as RunEvent);
    } catch {
      // Events are best-effort.
    }
  }
}

function hasSnapshot(modelId: string, snapshots: readonly SnapshotInfo[]): boolean {
  let ref: ReturnType<typeof parseModelRef>;
  try {
    ref = parseModelRef(modelId);
  } catch {
    return false;
  }
  if (ref.scheme === "cozy") {
    const { digest, tag } = ref;
    const repo = `${ref.owner}/${ref.repo}`;
    return snapshots.some(
      (info) =>
        info.scheme === "cozy" &&
        info.repo === repo &&
        (digest === undefined ? info.revision === tag : digestHex(info.commit) === digestHex(digest)),
    );
  }
  const revision = ref.revision;
  return snapshots.some(
    (info) =>
      info.scheme === "hf" &&
      info.repo === ref.repo &&
      (revision === undefined
        ? info.revision === "main"
        : info.revision === revision || info.commit.startsWith(revision.toLowerCase())),
  );
}

async function releaseSessions(sessions: readonly InferenceSession[]): Promise<void> {
  await Promise.allSettled(sessions.map((session) => session.release()));
}

/** The most `batch_sizes` entries one run's metrics hold for a model. */
const MAX_BATCH_SIZES = 64;

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

export interface CreateModelHostOptions {
  settings: ModelSettings;
  log: SessionLog;
  /** The machine's facts (GPU 0 and memory), for the session memory budget. */
  machine: Pick<MachineInfo, "memoryBytes" | "gpu">;
  manifest?: Manifest;
  onEvent?: EventSink;
  onInventoryChange?: () => void;
  /** Tests: how sessions are made (an injected failure), and how device memory is read. */
  sessionFactory?: SessionFactory;
  readDeviceMemory?: () => Promise<DeviceMemoryReading | undefined>;
}

/** A host with the disk cache, providers and session memory budget of the settings. */
export function createModelHost(options: CreateModelHostOptions): ModelHost {
  const { settings, log } = options;
  const budget = deviceBudget(settings.budget, options.machine);
  const diskCache = new ModelDiskCache({ settings });
  const { providers } = settings;
  log.info(
    { ...budget, providers, cacheDir: diskCache.dir },
    `models: cache ${diskCache.dir}, sessions on ${providers.join(", ")}, budget ${formatGiB(budget.budgetBytes)} (${budget.source})`,
  );
  return new ModelHost({
    diskCache,
    deviceCache: new DeviceCache({ budgetBytes: budget.budgetBytes, device: budget.device, log }),
    providers,
    ortLogLevel: settings.ortLogLevel,
    warmup: settings.warmup,
    log,
    prefetchConcurrency: settings.maxConcurrentDownloads,
    ...(settings.hfSelection.dtypes ? { dtypesOverride: settings.hfSelection.dtypes } : {}),
    ...(options.manifest ? { manifest: options.manifest } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.onInventoryChange ? { onInventoryChange: options.onInventoryChange } : {}),
    ...(options.sessionFactory ? { sessionFactory: options.sessionFactory } : {}),
    ...(options.readDeviceMemory ? { readDeviceMemory: options.readDeviceMemory } : {}),
  });
}

/** The promise in flight for `key`, else a new one from `start`, forgotten once it settles. */
function singleFlight<T>(
  inFlight: Map<string, Promise<T>>,
  key: string,
  start: () => Promise<T>,
): Promise<T> {
  let pending = inFlight.get(key);
  if (pending === undefined) {
    pending = start().finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}
