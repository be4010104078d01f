import pLimit, { type LimitFunction } from "p-limit";
import { EnvironmentError } from "../../settings/runtime.js";

/** `WORKER_MAX_CONCURRENT_DOWNLOADS` when unset. */
export const DEFAULT_MAX_CONCURRENT_DOWNLOADS = 2;

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

/** `WORKER_MAX_CONCURRENT_DOWNLOADS` (a whole number of 1 or more; default 2). */
export function maxConcurrentDownloadsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.WORKER_MAX_CONCURRENT_DOWNLOADS?.trim();
  if (!raw) return DEFAULT_MAX_CONCURRENT_DOWNLOADS;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new EnvironmentError([
      `WORKER_MAX_CONCURRENT_DOWNLOADS must be a whole number of 1 or more, got "${raw}"`,
    ]);
  }
  return value;
}

let shared: DownloadPool | undefined;

/**
 * The process-wide pool that the worker and the CLI share, sized from `WORKER_MAX_CONCURRENT_DOWNLOADS`
 * on first use.
 */
export function sharedDownloadPool(env: NodeJS.ProcessEnv = process.env): DownloadPool {
  shared ??= createDownloadPool(maxConcurrentDownloadsFromEnv(env));
  return shared;
}
