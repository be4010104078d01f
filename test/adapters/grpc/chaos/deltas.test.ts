import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, executions, sleep, startRig, waitUntil, workerLog } from "./harness.js";

afterEach(cleanUp);

const DELTAS = 30;
const DELTA_MS = 100;

describe("chaos: a streaming run while the scheduler is down", () => {
  it("delivers every delta produced during the outage, in order, then the result; a repeat only on a new stream", async () => {
    const { scheduler, worker, recordDir } = await startRig();
    scheduler.addRuns([
      { run_id: "streamed", function_name: "count_and_record", payload: { to: DELTAS, ms: DELTA_MS }, at: 0 },
    ]);
    await waitUntil("the run starts", 10_000, () => executions(recordDir).runs.has("streamed"), worker);
    await waitUntil("a few deltas arrive", 10_000, () => scheduler.deltas().length >= 3, worker);

    // SIGKILL, not restarted until well after the run has produced the rest of its deltas; the new
    // scheduler never re-sends the run (sent.jsonl), so only what the worker kept can arrive.
    await scheduler.kill();
    const downAt = Date.now();
    await sleep(DELTAS * DELTA_MS + 1_000);
    await scheduler.start();

    const result = () => scheduler.results().find((line) => line.run_id === "streamed");
    await waitUntil("the result arrives", 20_000, () => result() !== undefined, worker);

    const deltas = scheduler.deltas().filter((line) => line.run_id === "streamed");
    const log = workerLog(worker);
    // At least once, as documented: a delta written shortly before the fault, not yet confirmed, is
    // written again on the next stream; none is lost, and the first arrivals are in order.
    const firsts = new Map<unknown, (typeof deltas)[number]>();
    for (const line of deltas) if (!firsts.has(line.delta.n)) firsts.set(line.delta.n, line);
    expect([...firsts.keys()], `deltas the scheduler received${log}`).toEqual(
      Array.from({ length: DELTAS }, (_, n) => n),
    );
    const repeats = deltas.filter((line) => firsts.get(line.delta.n) !== line);
    for (const repeat of repeats) expect(repeat.stream).not.toBe(firsts.get(repeat.delta.n)?.stream);
    console.log(`${DELTAS} deltas, ${repeats.length} written again after the scheduler came back`);
    expect(deltas.filter((line) => line.at > downAt).length).toBeGreaterThan(DELTAS / 2);
    expect(result()?.success).toBe(true);
    expect(scheduler.sent().filter((id) => id === "streamed")).toEqual(["streamed"]);
    expect(executions(recordDir).duplicated).toEqual([]);
  }, 60_000);
});
