import type { CanceledError } from "../contract/errors.js";

/**
 * A run's cancellation. The `AbortSignal` handed to handlers is created only when a handler asks
 * for it: an AbortController and its event listeners cost more than a trivial run, and most
 * awaits inside the executor only need {@link Cancellation.race}.
 */
export class Cancellation {
  private controller: AbortController | undefined;
  private abortReason: CanceledError | undefined;
  private rejectRace: ((reason: unknown) => void) | undefined;
  private racePromise: Promise<never> | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortReason !== undefined;
  }

  /** Why the run was canceled, or undefined. */
  get reason(): CanceledError | undefined {
    return this.abortReason;
  }

  abort(reason: CanceledError): void {
    if (this.aborted) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
    this.rejectRace?.(reason);
  }

  /** Settles with the promise, or rejects with the reason as soon as the run is canceled. */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.aborted) {
      promise.catch(() => {});
      return Promise.reject(this.abortReason);
    }
    if (!this.racePromise) {
      this.racePromise = new Promise<never>((_, reject) => {
        this.rejectRace = reject;
      });
      this.racePromise.catch(() => {});
    }
    return Promise.race([promise, this.racePromise]);
  }
}

/** setTimeout's longest delay, 2^31−1 ms (about 24.8 days); Node fires a longer one after 1 ms. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Calls `fire` once `delayMs` have passed, however long that is: a delay beyond
 * {@link MAX_TIMER_DELAY_MS} is waited out in steps of at most that. Timers never fire early, so
 * neither does this. A delay that is not finite never fires. Returns a function that stops it.
 */
export function startTimer(delayMs: number, fire: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const wait = (remaining: number) => {
    const step = Math.min(remaining, MAX_TIMER_DELAY_MS);
    timer = setTimeout(() => (remaining > step ? wait(remaining - step) : fire()), step);
  };
  if (Number.isFinite(delayMs)) wait(Math.max(0, delayMs));
  return () => clearTimeout(timer);
}
