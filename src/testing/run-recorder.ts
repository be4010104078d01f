import type { RunEvent } from "../contract/events.js";
import type { RunResult } from "../contract/task.js";
import type { RunError, RunOutcome } from "./types.js";

/** Collects one run's events and turns them, with its result, into a {@link RunOutcome}. */
export class RunRecorder {
  readonly events: RunEvent[] = [];
  readonly sink = (event: RunEvent): void => {
    this.events.push(event);
  };

  outcome(result: RunResult, files: Record<string, Uint8Array>, thrown: unknown): RunOutcome {
    const deltas: Record<string, unknown>[] = [];
    const progress: RunOutcome["progress"] = [];
    const logs: RunOutcome["logs"] = [];
    for (const event of this.events) {
      if (event.type === "output.delta") deltas.push(event.payload);
      else if (event.type === "job.progress") {
        const { progress: fraction, stage } = event.payload;
        progress.push(stage === undefined ? { progress: fraction } : { progress: fraction, stage });
      } else if (event.type === "job.log")
        logs.push({ message: event.payload.message, level: event.payload.level });
    }
    const outcome: RunOutcome = {
      runId: result.runId,
      success: result.success,
      output: result.output ?? null,
      deltas,
      events: this.events,
      progress,
      logs,
      files,
      timedOut: result.timedOut,
      totalMs: result.totalMs,
    };
    if (!result.success) outcome.error = runError(result, thrown);
    return outcome;
  }
}

function runError(result: RunResult, thrown: unknown): RunError {
  const error: RunError = {
    errorType: result.errorType || "internal",
    retryable: result.retryable,
    safeMessage: result.safeMessage,
    errorMessage: result.errorMessage,
  };
  // Only when the failure is what the handler threw (not a timeout or an output check after it).
  if (
    thrown instanceof Error &&
    thrown.stack &&
    result.errorMessage === `${thrown.name}: ${thrown.message}`
  ) {
    error.stack = thrown.stack;
  }
  return error;
}
