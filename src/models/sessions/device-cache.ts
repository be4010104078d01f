import { stat } from "node:fs/promises";
import type { InferenceSession } from "onnxruntime-node";
import type { MachineInfo } from "../../host/machine-info.js";
import { processGpuBytes } from "../../host/nvidia-smi.js";
import type { SessionBudgetSettings } from "../../settings/models.js";
import { formatBytes } from "../../util/format-bytes.js";
import type { SessionLog } from "./execution-providers.js";

/**
 * Device memory bookkeeping for loaded ONNX Runtime sessions: the Python SDK `ModelCache`'s VRAM side
 * (`mark_loaded_to_vram`, `is_in_vram`, `get_vram_models`, stats, LRU eviction, budget from
 * `WORKER_MAX_VRAM_GB` or the GPU minus `WORKER_VRAM_SAFETY_MARGIN_GB`) with real sessions behind it.
 * Differences from the Python SDK, on purpose:
 * - a model pinned by {@link DeviceCache.acquire} (a run is using it) is never evicted or unloaded;
 * - eviction really frees memory: every session of an evicted model gets `release()`;
 * - a load that cannot fit even after evicting every unpinned model is refused, nothing is evicted;
 * - LRU order is by last use (load, acquire and release), not insertion.
 */

export const GIB = 1024 ** 3;

/** What the cache needs of a session; `InferenceSession` satisfies it. */
export interface ReleasableSession {
  release(): Promise<void>;
}

/** A model's sessions by graph name (for example `model`, `encoder_model`). */
export type ModelSessions<S extends ReleasableSession = InferenceSession> = Readonly<Record<string, S>>;

export interface DeviceBudget {
  budgetBytes: number;
  /** `gpu` when the budget is device memory of GPU 0, `cpu` when sessions live in RAM. */
  device: "gpu" | "cpu";
  /** Where the number came from. */
  source: "WORKER_MAX_VRAM_GB" | "gpu_total_minus_margin" | "WORKER_MAX_RAM_SESSION_GB" | "half_of_ram";
}

/**
 * The budget, from the settings and the machine:
 * 1. `WORKER_MAX_VRAM_GB` when set (on any machine: an explicit budget wins);
 * 2. with a GPU: its total memory minus `WORKER_VRAM_SAFETY_MARGIN_GB` (default 3.5; 0 is a valid
 *    margin here), clamped at 0;
 * 3. without a GPU sessions live in RAM: `WORKER_MAX_RAM_SESSION_GB`, else half of the machine's
 *    memory (its cgroup limit when lower), leaving the other half to Node, inputs and outputs.
 * GB here means GiB (1024³ bytes).
 */
export function deviceBudget(
  settings: SessionBudgetSettings,
  machine: Pick<MachineInfo, "memoryBytes" | "gpu">,
): DeviceBudget {
  const device = machine.gpu ? "gpu" : "cpu";
  const { maxVramGb, vramSafetyMarginGb, maxRamSessionGb } = settings;
  if (maxVramGb !== undefined)
    return { budgetBytes: gbToBytes(maxVramGb), device, source: "WORKER_MAX_VRAM_GB" };
  if (machine.gpu) {
    const budgetBytes = Math.max(0, machine.gpu.memoryBytes - gbToBytes(vramSafetyMarginGb));
    return { budgetBytes, device, source: "gpu_total_minus_margin" };
  }
  if (maxRamSessionGb !== undefined) {
    return { budgetBytes: gbToBytes(maxRamSessionGb), device, source: "WORKER_MAX_RAM_SESSION_GB" };
  }
  return { budgetBytes: Math.floor(machine.memoryBytes / 2), device, source: "half_of_ram" };
}

const gbToBytes = (gb: number) => Math.round(gb * GIB);
const bytesToGb2 = (bytes: number) => Math.round((bytes / GIB) * 100) / 100;

export class ModelNotLoadedError extends Error {
  constructor(readonly modelId: string) {
    super(`model ${modelId} is not loaded`);
    this.name = "ModelNotLoadedError";
  }
}

export class ModelInUseError extends Error {
  constructor(
    readonly modelId: string,
    readonly pins: number,
    action: string,
  ) {
    super(`cannot ${action} model ${modelId}: it is in use by ${pins} run${pins === 1 ? "" : "s"}`);
    this.name = "ModelInUseError";
  }
}

/** Even with every unpinned model evicted the request would not fit; nothing was evicted. */
export class InsufficientDeviceMemoryError extends Error {
  constructor(
    readonly modelId: string,
    readonly requestedBytes: number,
    readonly reclaimableBytes: number,
    readonly pinnedModels: readonly string[],
  ) {
    super(
      `insufficient_vram: model ${modelId} needs ${requestedBytes} bytes but at most ${reclaimableBytes} ` +
        `can be made free` +
        (pinnedModels.length > 0 ? ` (in use, not evictable: ${pinnedModels.join(", ")})` : ""),
    );
    this.name = "InsufficientDeviceMemoryError";
  }
}

export interface EvictedModel {
  modelId: string;
  sizeBytes: number;
  /** Messages of sessions whose `release()` threw; the entry is gone either way. */
  releaseErrors: string[];
}

export interface EvictionReport {
  evicted: EvictedModel[];
  freedBytes: number;
}

export type UnloadResult =
  | { unloaded: true; freedBytes: number; releaseErrors: string[] }
  | { unloaded: false; reason: "not_loaded" | "in_use"; message: string };

export interface DeviceCacheStats {
  device: "gpu" | "cpu";
  /** Loaded models, least recently used first. */
  vramModels: string[];
  vramModelCount: number;
  pinnedModels: string[];
  usedBytes: number;
  budgetBytes: number;
  /** `budget − used`, never below 0. */
  freeBytes: number;
  /** The three byte figures in GiB rounded to 2 decimals, like the Python SDK's `to_dict`. */
  vramUsedGb: number;
  vramTotalGb: number;
  vramAvailableGb: number;
}

interface Entry<S> {
  sessions: ModelSessions<S & ReleasableSession>;
  sizeBytes: number;
  lastUsed: number;
  pins: number;
}

export interface DeviceCacheOptions {
  budgetBytes: number;
  device?: "gpu" | "cpu";
  log?: SessionLog;
}

export class DeviceCache<S extends ReleasableSession = InferenceSession> {
  readonly budgetBytes: number;
  readonly device: "gpu" | "cpu";
  private readonly log: SessionLog | undefined;
  private readonly entries = new Map<string, Entry<S>>();
  private used = 0;
  private clock = 0;

  constructor(options: DeviceCacheOptions) {
    if (!Number.isFinite(options.budgetBytes) || options.budgetBytes < 0) {
      throw new RangeError(`budgetBytes must be a non-negative number, got ${options.budgetBytes}`);
    }
    this.budgetBytes = options.budgetBytes;
    this.device = options.device ?? "cpu";
    this.log = options.log;
  }

  get usedBytes(): number {
    return this.used;
  }

  get freeBytes(): number {
    return Math.max(0, this.budgetBytes - this.used);
  }

  isInVram(modelId: string): boolean {
    return this.entries.has(modelId);
  }

  /** The bytes a loaded model counts for, undefined when it is not loaded. */
  sizeOf(modelId: string): number | undefined {
    return this.entries.get(modelId)?.sizeBytes;
  }

  isPinned(modelId: string): boolean {
    return (this.entries.get(modelId)?.pins ?? 0) > 0;
  }

  /** Loaded model ids, least recently used first. */
  getVramModels(): string[] {
    return [...this.entries.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed).map(([id]) => id);
  }

  /** Whether `sizeBytes` fits now or after evicting every unpinned model. */
  canFit(sizeBytes: number): boolean {
    return this.freeBytes + this.reclaimableBytes() >= sizeBytes;
  }

  /**
   * Evicts least-recently-used unpinned models until `sizeBytes` fit, releasing their sessions. Call it
   * before creating sessions so that memory is free when ORT allocates. Throws
   * {@link InsufficientDeviceMemoryError}, evicting nothing, when the request cannot fit.
   */
  async makeRoom(sizeBytes: number, forModel = "(unnamed)"): Promise<EvictionReport> {
    checkSize(sizeBytes);
    return this.evict(this.pickVictims(sizeBytes, forModel), forModel);
  }

  /**
   * Out-of-memory relief: ONNX Runtime ran out of device memory although the books said the models
   * fit. Evicts least-recently-used unpinned models, other than `forModel`, until at least `bytes`
   * are freed (at least one model when any can go), whatever the budget says, releasing their sessions.
   */
  async evictForRelief(bytes: number, forModel: string): Promise<EvictionReport> {
    checkSize(bytes);
    const candidates = [...this.entries.entries()]
      .filter(([id, entry]) => entry.pins === 0 && id !== forModel)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    const victims: [string, Entry<S>][] = [];
    let freed = 0;
    for (const candidate of candidates) {
      if (victims.length > 0 && freed >= bytes) break;
      victims.push(candidate);
      freed += candidate[1].sizeBytes;
    }
    return this.evict(victims, forModel);
  }

  /**
   * Records `sessions` as loaded, using `sizeBytes` of the budget, evicting least-recently-used unpinned
   * models first as needed; the model becomes the most recently used. Loading a model that is already
   * loaded replaces its sessions (the replaced ones are released) unless it is pinned. The cache owns
   * the sessions from then on; when the load is refused (an error is thrown) they still belong to the
   * caller.
   */
  async markLoadedToVram(
    modelId: string,
    sessions: ModelSessions<S>,
    sizeBytes: number,
  ): Promise<EvictionReport> {
    checkSize(sizeBytes);
    const existing = this.entries.get(modelId);
    const replaced = existing
      ? Object.values(existing.sessions).filter((s) => !Object.values(sessions).includes(s))
      : [];
    if (existing && existing.pins > 0 && replaced.length > 0)
      throw new ModelInUseError(modelId, existing.pins, "reload");
    const victims = this.pickVictims(sizeBytes - (existing?.sizeBytes ?? 0), modelId, modelId);
    this.used += sizeBytes - (existing?.sizeBytes ?? 0);
    this.entries.set(modelId, { sessions, sizeBytes, lastUsed: ++this.clock, pins: existing?.pins ?? 0 });
    const report = await this.evict(victims, modelId);
    const errors = await releaseAll(replaced);
    if (errors.length > 0)
      this.log?.warn({ model: modelId, errors }, `releasing replaced sessions of ${modelId} failed`);
    this.log?.info(
      { model: modelId, sizeBytes, usedBytes: this.used, budgetBytes: this.budgetBytes },
      `model ${modelId} loaded (${formatBytes(sizeBytes)})`,
    );
    return report;
  }

  /**
   * Pins a loaded model for a run and returns its sessions; it cannot be evicted or unloaded until a
   * matching {@link release}. Pins count, so overlapping runs each acquire and release.
   */
  acquire(modelId: string): ModelSessions<S> {
    const entry = this.entries.get(modelId);
    if (!entry) throw new ModelNotLoadedError(modelId);
    entry.pins += 1;
    entry.lastUsed = ++this.clock;
    return entry.sessions;
  }

  /** Ends one {@link acquire}; the model counts as used now for the LRU order. */
  release(modelId: string): void {
    const entry = this.entries.get(modelId);
    if (!entry) throw new ModelNotLoadedError(modelId);
    if (entry.pins === 0) throw new Error(`model ${modelId} is not acquired`);
    entry.pins -= 1;
    entry.lastUsed = ++this.clock;
  }

  /** Releases a model's sessions and gives back its memory; refused while a run holds it. */
  async unload(modelId: string): Promise<UnloadResult> {
    const entry = this.entries.get(modelId);
    if (!entry) return { unloaded: false, reason: "not_loaded", message: `model ${modelId} is not loaded` };
    if (entry.pins > 0) {
      return {
        unloaded: false,
        reason: "in_use",
        message: new ModelInUseError(modelId, entry.pins, "unload").message,
      };
    }
    this.detach(modelId, entry);
    const releaseErrors = await releaseAll(Object.values(entry.sessions));
    this.log?.info({ model: modelId, freedBytes: entry.sizeBytes }, `model ${modelId} unloaded`);
    return { unloaded: true, freedBytes: entry.sizeBytes, releaseErrors };
  }

  stats(): DeviceCacheStats {
    const vramModels = this.getVramModels();
    return {
      device: this.device,
      vramModels,
      vramModelCount: vramModels.length,
      pinnedModels: vramModels.filter((id) => this.isPinned(id)),
      usedBytes: this.used,
      budgetBytes: this.budgetBytes,
      freeBytes: this.freeBytes,
      vramUsedGb: bytesToGb2(this.used),
      vramTotalGb: bytesToGb2(this.budgetBytes),
      vramAvailableGb: bytesToGb2(this.freeBytes),
    };
  }

  private reclaimableBytes(exclude?: string): number {
    let total = 0;
    for (const [id, entry] of this.entries) if (entry.pins === 0 && id !== exclude) total += entry.sizeBytes;
    return total;
  }

  /** Chooses, without changing anything, the LRU unpinned models to evict so that `needed` bytes fit. */
  private pickVictims(needed: number, forModel: string, exclude?: string): [string, Entry<S>][] {
    let free = this.budgetBytes - this.used;
    if (free >= needed) return [];
    const candidates = [...this.entries.entries()]
      .filter(([id, entry]) => entry.pins === 0 && id !== exclude)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    const victims: [string, Entry<S>][] = [];
    for (const candidate of candidates) {
      if (free >= needed) break;
      victims.push(candidate);
      free += candidate[1].sizeBytes;
    }
    if (free < needed) {
      const pinned = [...this.entries.entries()].filter(([, e]) => e.pins > 0).map(([id]) => id);
      throw new InsufficientDeviceMemoryError(
        forModel,
        needed,
        Math.max(0, this.budgetBytes - this.used) + this.reclaimableBytes(exclude),
        pinned,
      );
    }
    return victims;
  }

  private detach(modelId: string, entry: Entry<S>): void {
    this.entries.delete(modelId);
    this.used -= entry.sizeBytes;
  }

  /** Drops the victims from the books at once (so concurrent callers see it), then releases their sessions. */
  private async evict(victims: [string, Entry<S>][], forModel: string): Promise<EvictionReport> {
    for (const [id, entry] of victims) this.detach(id, entry);
    const evicted: EvictedModel[] = [];
    for (const [modelId, entry] of victims) {
      const releaseErrors = await releaseAll(Object.values(entry.sessions));
      evicted.push({ modelId, sizeBytes: entry.sizeBytes, releaseErrors });
      this.log?.info(
        { model: modelId, sizeBytes: entry.sizeBytes, for: forModel, releaseErrors },
        `evicted model ${modelId} (${entry.sizeBytes} bytes) to make room for ${forModel}`,
      );
    }
    return { evicted, freedBytes: evicted.reduce((sum, e) => sum + e.sizeBytes, 0) };
  }
}

function checkSize(sizeBytes: number): void {
  if (!Number.isFinite(sizeBytes) || sizeBytes < 0) {
    throw new RangeError(`sizeBytes must be a non-negative number, got ${sizeBytes}`);
  }
}

async function releaseAll(sessions: readonly ReleasableSession[]): Promise<string[]> {
  const errors: string[] = [];
  for (const session of sessions) {
    try {
      await session.release();
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
    }
  }
  return errors;
}

/**
 * The memory a model's sessions take when it cannot be measured: the sum of its files' sizes (the
 * `.onnx` graphs and their external-data files). Weights dominate and ORT keeps one copy of them on
 * the device; activations and arena growth during runs are not included.
 */
export async function estimateModelBytes(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const file of files) total += (await stat(file)).size;
  return total;
}

/**
 * Runs `load` (which creates the model's sessions) and sizes the model: on a GPU, the growth of this
 * process's device memory across the load, but never less than `estimate`, the files' size (ORT's
 * arena grows further on the first runs, so the measured figure alone undercounts); elsewhere the
 * estimate. Measurement is only meaningful when loads do not overlap.
 */
export async function loadAndMeasure<T>(
  estimate: number,
  load: () => Promise<T>,
  device: "gpu" | "cpu",
): Promise<{ value: T; sizeBytes: number; measured: boolean }> {
  const before = device === "gpu" ? await processGpuBytes() : undefined;
  const value = await load();
  const after = device === "gpu" ? await processGpuBytes() : undefined;
  if (after !== undefined && after - (before ?? 0) > 0) {
    return { value, sizeBytes: Math.max(estimate, after - (before ?? 0)), measured: true };
  }
  return { value, sizeBytes: estimate, measured: false };
}
