import type { InferenceSession, Tensor } from "onnxruntime-node";
import { CanceledError } from "../../contract/errors.js";
import type { BatchSpec } from "../../contract/model-spec.js";
import type { SessionLog } from "../sessions/execution-providers.js";
import { concatFeeds, splitOutputs } from "./batch-tensors.js";

type Feeds = Readonly<Record<string, Tensor>>;
type Outputs = InferenceSession.ReturnType;

/** Runs feeds on the real session (with the model host's out-of-memory recovery around it). */
export type FeedRunner = (feeds: Feeds) => Promise<Outputs>;

/** One call waiting in a batch. */
interface Waiting {
  feeds: Feeds;
  rows: number;
  resolve(outputs: Outputs): void;
  reject(error: unknown): void;
  /** Told the rows of the ONNX Runtime call it ran in. */
  onRun: ((rows: number) => void) | undefined;
  /** Stops listening for the run's cancellation (once the call leaves the queue). */
  detach(): void;
}

/** Calls of one shape (same key) collected until the batch is full or its first call waited long enough. */
interface Batch {
  key: string;
  spec: BatchSpec;
  calls: Waiting[];
  rows: number;
  timer: { cancel(): void } | undefined;
}

export interface SubmitOptions {
  /** The shape key of `src/models/serving/batch-shape.ts`: only calls with the same key are batched. */
  key: string;
  rows: number;
  spec: BatchSpec;
  /** The run's cancellation: a call still waiting leaves its batch and rejects with the reason. */
  signal?: AbortSignal;
  onRun?: (rows: number) => void;
}

/**
 * Dynamic batching for one session. Calls of the same shape are queued together; a batch runs when
 * its rows reach `max_size`, or `max_wait_ms` after its first call arrived, as one ONNX Runtime call
 * on the concatenated inputs, and each caller gets its own rows of the outputs. A call that would push
 * a batch past `max_size` sends that batch off first and starts the next. A canceled call leaves its
 * batch while it waits; once the batch runs, it runs with it. When a batched call fails, or its outputs
 * cannot be cut back, each call of it runs alone, so that every caller gets its own result or error;
 * outputs that cannot be cut turn batching off for the session.
 */
export class SessionBatcher {
  private readonly open = new Map<string, Batch>();
  private disabled: string | undefined;

  constructor(
    private readonly run: FeedRunner,
    private readonly label: string,
    private readonly log: SessionLog,
  ) {}

  /** Why batching was turned off for this session, if it was. */
  get disabledReason(): string | undefined {
    return this.disabled;
  }

  /** Calls waiting, over every shape (for tests and status). */
  get waiting(): number {
    let count = 0;
    for (const batch of this.open.values()) count += batch.calls.length;
    return count;
  }

  submit(feeds: Feeds, options: SubmitOptions): Promise<Outputs> {
    const { key, rows, spec, signal } = options;
    if (signal?.aborted) return Promise.reject(cancelReason(signal));
    if (this.disabled !== undefined || rows >= spec.max_size) return this.alone(feeds, rows, options.onRun);
    const current = this.open.get(key);
    if (current && current.rows + rows > current.spec.max_size) this.flush(current);
    let batch = this.open.get(key);
    if (batch === undefined) {
      batch = { key, spec, calls: [], rows: 0, timer: undefined };
      this.open.set(key, batch);
      const started = batch;
      batch.timer = after(spec.max_wait_ms, () => this.flush(started));
    }
    const joined = batch;
    return new Promise<Outputs>((resolve, reject) => {
      const waiting: Waiting = { feeds, rows, resolve, reject, onRun: options.onRun, detach: () => {} };
      if (signal) {
        const onAbort = () => this.leave(joined, waiting, cancelReason(signal));
        signal.addEventListener("abort", onAbort, { once: true });
        waiting.detach = () => signal.removeEventListener("abort", onAbort);
      }
      joined.calls.push(waiting);
      joined.rows += rows;
      if (joined.rows >= joined.spec.max_size) this.flush(joined);
    });
  }

  /** A canceled call leaves a batch that has not run yet; an emptied batch is dropped. */
  private leave(batch: Batch, waiting: Waiting, reason: unknown): void {
    const index = batch.calls.indexOf(waiting);
    if (index === -1 || this.open.get(batch.key) !== batch) return;
    batch.calls.splice(index, 1);
    batch.rows -= waiting.rows;
    waiting.detach();
    waiting.reject(reason);
    if (batch.calls.length === 0) {
      batch.timer?.cancel();
      this.open.delete(batch.key);
    }
  }

  private flush(batch: Batch): void {
    if (this.open.get(batch.key) !== batch) return;
    this.open.delete(batch.key);
    batch.timer?.cancel();
    const calls = batch.calls;
    for (const call of calls) call.detach();
    if (calls.length === 0) return;
    void this.runBatch(calls);
  }

  private async runBatch(calls: Waiting[]): Promise<void> {
    if (calls.length === 1) {
      const [only] = calls as [Waiting];
      settle(only, this.alone(only.feeds, only.rows, only.onRun));
      return;
    }
    const rows = calls.map((call) => call.rows);
    const total = rows.reduce((sum, n) => sum + n, 0);
    let parts: Outputs[] | undefined;
    try {
      const outputs = await this.run(concatFeeds(calls.map((call) => call.feeds)));
      parts = splitOutputs(outputs, rows);
      if (parts === undefined) {
        this.disabled = "its outputs' first dimension is not the sum of the batched calls' rows";
        this.log.warn(
          { session: this.label },
          `batching turned off for ${this.label}: ${this.disabled}; its calls run one at a time (remove batch from its cozy.toml entry)`,
        );
      }
    } catch (error) {
      this.log.info(
        { session: this.label, calls: calls.length, error: (error as Error).message },
        `a batched call of ${this.label} failed; its ${calls.length} calls run alone`,
      );
    }
    if (parts === undefined) {
      for (const call of calls) settle(call, this.alone(call.feeds, call.rows, call.onRun));
      return;
    }
    for (const [index, call] of calls.entries()) {
      call.onRun?.(total);
      call.resolve(parts[index] as Outputs);
    }
  }

  private alone(feeds: Feeds, rows: number, onRun: ((rows: number) => void) | undefined): Promise<Outputs> {
    onRun?.(rows);
    return this.run(feeds);
  }
}

function settle(call: Waiting, outcome: Promise<Outputs>): void {
  outcome.then(call.resolve, call.reject);
}

function cancelReason(signal: AbortSignal): unknown {
  return signal.reason ?? new CanceledError("the run was canceled while its call waited for a batch");
}

/** `setImmediate` for 0 ms (the calls of this turn of the event loop), else a timer. */
function after(ms: number, fire: () => void): { cancel(): void } {
  if (ms <= 0) {
    const handle = setImmediate(fire);
    return { cancel: () => clearImmediate(handle) };
  }
  const handle = setTimeout(fire, ms);
  return { cancel: () => clearTimeout(handle) };
}
