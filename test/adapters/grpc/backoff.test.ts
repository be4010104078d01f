import { describe, expect, it } from "vitest";
import { reconnectDelayMs } from "../../../src/adapters/grpc/backoff.js";
import { workerSettingsFromEnv } from "../../../src/settings/worker.js";

const defaults = workerSettingsFromEnv({ WORKER_JWT: "t" }).reconnect;
const never = () => 0;
const always = () => 0.999999;

describe("reconnectDelayMs", () => {
  it("doubles from the base and stops at the cap", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 50].map((attempt) => reconnectDelayMs(attempt, defaults, never));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it("adds jitter of 0 up to the configured seconds", () => {
    expect(reconnectDelayMs(1, defaults, () => 0.5)).toBe(1500);
    expect(reconnectDelayMs(6, defaults, always)).toBeCloseTo(30000 + 999.999, 3);
    for (let i = 0; i < 200; i++) {
      const delay = reconnectDelayMs(2, defaults);
      expect(delay).toBeGreaterThanOrEqual(2000);
      expect(delay).toBeLessThan(3000);
    }
  });

  it("has no cap when the max delay is 0, but never exceeds what setTimeout can wait", () => {
    const uncapped = { ...defaults, maxDelayMs: 0 };
    expect(reconnectDelayMs(10, uncapped, never)).toBe(512000);
    expect(reconnectDelayMs(5000, uncapped, never)).toBe(2_147_483_647);
  });

  it("treats attempts below 1 as the first and a zero base as no delay", () => {
    expect(reconnectDelayMs(0, defaults, never)).toBe(1000);
    expect(reconnectDelayMs(-3, defaults, never)).toBe(1000);
    expect(reconnectDelayMs(1e6, { ...defaults, baseDelayMs: 0, maxDelayMs: 0 }, never)).toBe(0);
  });

  it("with the defaults, at most 10 attempts fit into 30 s even with no jitter (the reference made ~1,050 in 12 s)", () => {
    let elapsed = 0;
    let attempts = 0;
    for (let failures = 1; ; failures++) {
      const next = elapsed + reconnectDelayMs(failures, defaults, never);
      if (next > 30000) break;
      elapsed = next;
      attempts++;
    }
    expect(attempts).toBeLessThanOrEqual(10);
    // ...and the first retry after a restart still comes quickly.
    expect(reconnectDelayMs(1, defaults, always)).toBeLessThan(2000);
  });
});
