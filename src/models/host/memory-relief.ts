import type { EventPayloads } from "../../contract/events.js";
import { parseNvidiaSmi } from "../../host/machine-info.js";
import { GPU_QUERY_ARGS, runNvidiaSmi } from "../../host/nvidia-smi.js";
import type { RunGuard } from "../serving/served-session.js";
import type { DeviceCache, EvictionReport } from "../sessions/device-cache.js";
import type { SessionLog } from "../sessions/execution-providers.js";
import { isOutOfMemory } from "../sessions/out-of-memory.js";
import { DeviceMemoryError } from "./model-errors.js";

/** GPU 0's memory as read at one moment. */
export interface DeviceMemoryReading {
  usedBytes: number;
  freeBytes: number;
}

/** What the next registration says about the last time memory ran out. */
export interface OutOfMemoryReport {
  modelId: string;
  phase: "load" | "run";
  recovered: boolean;
  /** Read right after; absent when it could not be read (no nvidia-smi, a CPU worker). */
  memory?: DeviceMemoryReading;
}

export interface MemoryReliefOptions {
  device: DeviceCache;
  log: SessionLog;
  /** Models the relief evicted: the host forgets them and reports the inventory change. */
  onEvicted(report: EvictionReport): void;
  /** Sends `model.out_of_memory`. */
  emit(payload: EventPayloads["model.out_of_memory"]): void;
  /** Called once the report for the next registration is ready, to send one. */
  onReport?: () => void;
  /** Device memory now; default: nvidia-smi on a GPU machine. */
  readDeviceMemory?: () => Promise<DeviceMemoryReading | undefined>;
}

/**
 * What the model host does when ONNX Runtime runs out of memory although the budget said the models
 * fit: evict least-recently-used models not in use, retry once, report it (`model.out_of_memory`, a
 * log line, the next registration's device memory) and, when the retry fails too, fail with a
 * retryable `resource` error.
 */
export class MemoryRelief {
  private pending: OutOfMemoryReport | undefined;
  private total = 0;

  constructor(private readonly options: MemoryReliefOptions) {}

  /** Times memory ran out since the host started. */
  get count(): number {
    return this.total;
  }

  /** The last failure not yet reported, once (the worker's next registration consumes it). */
  take(): OutOfMemoryReport | undefined {
    const report = this.pending;
    this.pending = undefined;
    return report;
  }

  /**
   * Runs `step`; when memory runs out, evicts least-recently-used models not in use (other than
   * `modelId`, until at least `bytes` are freed), reports it and runs `step` once more. What the retry
   * throws is thrown.
   */
  async attempt<T>(
    modelId: string,
    phase: "load" | "run",
    bytes: number,
    step: () => Promise<T>,
  ): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (!isOutOfMemory(error)) throw error;
      const report = await this.options.device.evictForRelief(bytes, modelId);
      this.options.onEvicted(report);
      let recovered = false;
      try {
        const value = await step();
        recovered = true;
        return value;
      } finally {
        this.note(modelId, phase, report, recovered, error);
      }
    }
  }

  /** The guard of a model's runs: {@link attempt} with the model's size, then a `DeviceMemoryError`. */
  guard(modelId: string): RunGuard {
    return async (run) => {
      try {
        return await this.attempt(modelId, "run", this.options.device.sizeOf(modelId) ?? 0, run);
      } catch (error) {
        if (!isOutOfMemory(error)) throw error;
        throw new DeviceMemoryError(
          `out of memory running model ${modelId}, also after evicting the models not in use: ${firstLine(error)}; retry later, or lower concurrency or WORKER_MAX_VRAM_GB`,
        );
      }
    };
  }

  private note(
    modelId: string,
    phase: "load" | "run",
    report: EvictionReport,
    recovered: boolean,
    error: unknown,
  ): void {
    this.total += 1;
    const evicted = report.evicted.map((entry) => entry.modelId);
    this.options.emit({ model_id: modelId, phase, evicted, freed_bytes: report.freedBytes, recovered });
    this.options.log.warn(
      { model: modelId, phase, evicted, freedBytes: report.freedBytes, recovered },
      `out of memory ${phase === "load" ? "loading" : "running"} ${modelId} (${firstLine(error)}); evicted ${evicted.length > 0 ? evicted.join(", ") : "nothing (every other model is in use)"} and retried: ${recovered ? "it worked" : "it failed again"}`,
    );
    const read = this.options.readDeviceMemory ?? (() => readGpuMemory(this.options.device.device));
    void read()
      .catch(() => undefined)
      .then((memory) => {
        this.pending = { modelId, phase, recovered, ...(memory ? { memory } : {}) };
        this.options.onReport?.();
      });
  }
}

/** GPU 0's memory now, through nvidia-smi; undefined on a CPU worker or when it cannot be read. */
async function readGpuMemory(device: "gpu" | "cpu"): Promise<DeviceMemoryReading | undefined> {
  if (device !== "gpu") return undefined;
  const stdout = await runNvidiaSmi(GPU_QUERY_ARGS);
  const gpu = stdout === undefined ? undefined : parseNvidiaSmi(stdout);
  return gpu ? { usedBytes: gpu.usedBytes, freeBytes: gpu.freeBytes } : undefined;
}

function firstLine(error: unknown): string {
  return ((error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "").trim();
}
