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
