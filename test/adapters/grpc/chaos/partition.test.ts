import { afterEach, describe, expect, it } from "vitest";
import {
  cleanUp,
  executions,
  holdsWithin,
  plannedRun,
  sleep,
  startRig,
  TIMING,
  waitUntil,
  workerLog,
} from "./harness.js";

afterEach(cleanUp);

/** Shorter than the first possible keepalive failure: the link heals before the worker can notice. */
const BLACK_HOLE_MS = 500;
/** Room for a busy 2-core machine on top of the worker's own timings. */
const SLACK_MS = 2_000;
/** Detection (keepalive time + timeout), then the longest reconnect delay. */
const RECONNECT_BOUND_MS =
  (TIMING.keepaliveTime + TIMING.keepaliveTimeout + TIMING.reconnectMaxDelay + TIMING.reconnectJitter) *
    1000 +
  SLACK_MS;

describe("chaos: a network partition", () => {
  it("is detected by keepalive, and the result finished during it arrives after it heals", async () => {
    const { scheduler, proxy, worker, recordDir } = await startRig();
    const [firstStream] = scheduler.registrations();
    scheduler.addRuns([plannedRun("partitioned", 300)]);
    await waitUntil("the run starts", 10_000, () => executions(recordDir).runs.has("partitioned"), worker);

    const partitionAt = Date.now();
    proxy.blackHole(BLACK_HOLE_MS);
    await sleep(BLACK_HOLE_MS);
    const healedAt = Date.now();

    const newStream = () => scheduler.registrations().find((line) => line.at > partitionAt);
    const reconnected = await holdsWithin(RECONNECT_BOUND_MS + 10_000, () => newStream() !== undefined);
    const result = () => scheduler.results().find((line) => line.run_id === "partitioned");
    await holdsWithin(reconnected ? 5_000 : 0, () => result() !== undefined);

    const reconnectMs = reconnected ? (newStream()?.at ?? 0) - partitionAt : undefined;
    console.log(
      `reconnected ${reconnectMs ?? "never"} ms after the partition began (bound ${RECONNECT_BOUND_MS} ms)`,
    );
    const log = workerLog(worker);
    expect(reconnectMs, `the worker never reconnected after the partition${log}`).toBeDefined();
    expect(reconnectMs, `reconnected ${reconnectMs} ms after the partition began${log}`).toBeLessThanOrEqual(
      RECONNECT_BOUND_MS,
    );
    expect(result(), `the result finished during the partition never arrived${log}`).toBeDefined();
    expect(result()?.at).toBeGreaterThan(healedAt);
    expect(result()?.stream).not.toBe(firstStream?.stream);
    expect(executions(recordDir).duplicated).toEqual([]);
  }, 60_000);
});
