/** One worker event of a run, as the reference catalogue names it (`output.delta`, `job.progress`...). */
export interface RunEvent {
  runId: string;
  type: string;
  payload: Record<string, unknown>;
}

export type EventSink = (event: RunEvent) => void;

/** Event types a handler may not send through `ctx.emit`: they belong to the runtime. */
export const RESERVED_EVENT_PREFIXES = ["output.", "metrics.", "model.", "models.", "job."] as const;

/** RFC 3339 UTC with microseconds, the form of `metrics.compute.*` `at` (`2026-11-27T02:18:14.897002Z`). */
export function rfc3339Micro(epochMs: number = performance.timeOrigin + performance.now()): string {
  const whole = Math.floor(epochMs);
  const micros = Math.floor((epochMs - whole) * 1000);
  return new Date(whole).toISOString().replace("Z", `${String(micros).padStart(3, "0")}Z`);
}

/** Epoch seconds as a float, the `timestamp` of `job.*` and custom events. */
export function epochSeconds(): number {
  return Date.now() / 1000;
}
