/**
 * Catches what escapes a handler (an error thrown from a timer, a promise nobody awaited) while
 * the fuzzer runs, so it is reported with the payload that caused it instead of ending the
 * process.
 */
export class CrashWatch {
  private crash: { error: unknown } | undefined;
  private readonly onError = (error: unknown) => {
    this.crash ??= { error };
  };

  start(): void {
    process.on("uncaughtException", this.onError);
    process.on("unhandledRejection", this.onError);
  }

  stop(): void {
    process.off("uncaughtException", this.onError);
    process.off("unhandledRejection", this.onError);
  }

  /** The first error that escaped since the last call, if any. */
  take(): unknown {
    const crash = this.crash;
    this.crash = undefined;
    return crash?.error;
  }
}
