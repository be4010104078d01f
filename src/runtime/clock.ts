/** The clocks of event payloads. */

let cachedSecond = Number.NaN;
let cachedPrefix = "";

/** RFC 3339 UTC with microseconds, the form of `metrics.compute.*` `at` (`2026-11-27T02:18:14.897002Z`). */
export function rfc3339Micro(epochMs: number = performance.timeOrigin + performance.now()): string {
  // Formatting a Date costs more than a trivial run; the text up to the seconds changes once a second.
  const second = Math.floor(epochMs / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 19);
  }
  const micros = Math.floor((epochMs - second * 1000) * 1000);
  return `${cachedPrefix}.${String(micros).padStart(6, "0")}Z`;
}

/** Epoch seconds as a float, the `timestamp` of `job.*` and custom events. */
export function epochSeconds(): number {
  return Date.now() / 1000;
}
