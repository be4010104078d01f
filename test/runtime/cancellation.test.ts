import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_TIMER_DELAY_MS, startTimer } from "../../src/runtime/cancellation.js";

describe("startTimer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("waits out a delay beyond setTimeout's limit exactly, neither early nor late", () => {
    let fired = 0;
    startTimer(2 * MAX_TIMER_DELAY_MS + 5_000, () => fired++);
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS);
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS);
    vi.advanceTimersByTime(4_999);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
  });

  it("fires a delay within the limit once, and never when stopped or infinite", () => {
    let fired = 0;
    startTimer(100, () => fired++);
    const stop = startTimer(2 ** 31, () => fired++);
    startTimer(Number.POSITIVE_INFINITY, () => fired++);
    vi.advanceTimersByTime(100);
    expect(fired).toBe(1);
    stop();
    vi.advanceTimersByTime(2 ** 32);
    expect(fired).toBe(1);
  });
});
