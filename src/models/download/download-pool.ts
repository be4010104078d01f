import pLimit, { type LimitFunction } from "p-limit";
import { DEFAULT_MAX_CONCURRENT_DOWNLOADS } from "../../settings/models.js";

/** Runs download tasks with at most `concurrency` of them at once, the rest in first-come order. */
export interface DownloadPool {
  /**
   * Runs `task` when a slot is free. A task whose `signal` aborted while it waited rejects with the
   * signal's reason without starting.
   */
  run<T>(task: () => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
  readonly concurrency: number;
  /** Tasks running now. */
  readonly activeCount: number;
  /** Tasks waiting for a slot. */
  readonly pendingCount: number;
}

export function createDownloadPool(concurrency: number = DEFAULT_MAX_CONCURRENT_DOWNLOADS): DownloadPool {
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`download concurrency must be a whole number of 1 or more, got ${concurrency}`);
  }
  const limit: LimitFunction = pLimit(concurrency);
  return {
    run: (task, options) =>
      limit(() => {
        options?.signal?.throwIfAborted();
        return task();
      }),
    get concurrency() {
      return limit.concurrency;
    },
    get activeCount() {
      return limit.activeCount;
    },
    get pendingCount() {
      return limit.pendingCount;
    },
  };
}

let shared: DownloadPool | undefined;

/**
 * The process-wide pool that the worker and the CLI share, sized from `WORKER_MAX_CONCURRENT_DOWNLOADS`
 * by its first user.
 */
export function sharedDownloadPool(concurrency: number): DownloadPool {
  shared ??= createDownloadPool(concurrency);
  return shared;
}
