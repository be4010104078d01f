import { type EventSink, RESERVED_EVENT_PREFIXES } from "../contract/events.js";
import type { ActionContext, Asset, LogLevel } from "../contract/handler-api.js";
import type { Cancellation } from "./cancellation.js";
import { epochSeconds } from "./clock.js";
import type { OutputStore } from "./files/output-store.js";
import { readFileForSave } from "./files/output-store.js";

export interface RunContextOptions {
  runId: string;
  owner: string;
  userId: string;
  cancellation: Cancellation;
  deadline: number | null;
  requiredModels: readonly string[];
  /** Sends one event of this run. */
  send: EventSink;
  /** Where saves go (made on first use); undefined when the run has no file backend. */
  outputs(): OutputStore | undefined;
  maxOutputFileBytes: number;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warning", "error"];

/** The {@link ActionContext} handed to a handler for one run. */
export class RunContext implements ActionContext {
  readonly runId: string;
  readonly owner: string;
  readonly userId: string;
  readonly deadline: number | null;
  readonly requiredModels: readonly string[];

  constructor(private readonly options: RunContextOptions) {
    this.runId = options.runId;
    this.owner = options.owner;
    this.userId = options.userId;
    this.deadline = options.deadline;
    this.requiredModels = options.requiredModels;
  }

  get signal(): AbortSignal {
    return this.options.cancellation.signal;
  }

  isCanceled(): boolean {
    return this.options.cancellation.aborted;
  }

  throwIfCanceled(): void {
    const { reason } = this.options.cancellation;
    if (reason) throw reason;
  }

  timeRemainingMs(): number | null {
    return this.deadline === null ? null : Math.max(0, this.deadline - Date.now());
  }

  progress(fraction: number, stage?: string): void {
    if (!Number.isFinite(fraction))
      throw new TypeError(`ctx.progress needs a finite number, got ${fraction}`);
    const progress = Math.min(1, Math.max(0, fraction));
    const timestamp = epochSeconds();
    this.options.send({
      runId: this.runId,
      type: "job.progress",
      payload: stage === undefined ? { progress, timestamp } : { progress, stage, timestamp },
    });
  }

  log(message: string, level: LogLevel = "info"): void {
    if (!LOG_LEVELS.includes(level)) {
      throw new TypeError(`ctx.log level must be one of ${LOG_LEVELS.join(", ")}, got "${level}"`);
    }
    this.options.send({
      runId: this.runId,
      type: "job.log",
      payload: { message: String(message), level, timestamp: epochSeconds() },
    });
  }

  emit(type: string, payload: Record<string, unknown> = {}): void {
    if (typeof type !== "string" || type.trim() === "") throw new TypeError("ctx.emit needs an event type");
    const reserved = RESERVED_EVENT_PREFIXES.find((prefix) => type.startsWith(prefix));
    if (reserved) {
      throw new TypeError(
        `event type "${type}" is reserved for the runtime (${reserved}*): pick another name`,
      );
    }
    this.options.send({
      runId: this.runId,
      type: "custom",
      name: type,
      // The handler's own timestamp wins; the runtime only adds one when it is missing.
      payload: { timestamp: epochSeconds(), ...payload },
    });
  }

  saveBytes(ref: string, data: Uint8Array): Promise<Asset> {
    return this.save(ref, data, false);
  }

  saveBytesCreate(ref: string, data: Uint8Array): Promise<Asset> {
    return this.save(ref, data, true);
  }

  async saveFile(ref: string, path: string): Promise<Asset> {
    return this.save(ref, await readFileForSave(path, this.options.maxOutputFileBytes), false);
  }

  async saveFileCreate(ref: string, path: string): Promise<Asset> {
    return this.save(ref, await readFileForSave(path, this.options.maxOutputFileBytes), true);
  }

  private async save(ref: string, data: Uint8Array, createOnly: boolean): Promise<Asset> {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`ctx.saveBytes needs a Uint8Array (or Buffer), got ${typeof data}`);
    }
    const outputs = this.options.outputs();
    if (!outputs) {
      throw new Error(
        "no file backend for outputs: set FILE_API_BASE_URL (or pass file_base_url with the task), or use the dev runner's --outputs",
      );
    }
    return outputs.save(ref, data, { createOnly });
  }
}
