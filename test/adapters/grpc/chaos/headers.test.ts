import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, executions, plannedRun, startRig, waitUntil } from "./harness.js";
import type { HeaderMode } from "./scheduler-process.js";

afterEach(cleanUp);

describe("chaos: the scheduler's response headers", () => {
  // eager: headers as soon as the stream opens; lazy: nothing at all until the worker has registered.
  it.each<HeaderMode>(["eager", "lazy"])(
    "completes a run when the scheduler sends headers %s",
    async (headers) => {
      const { scheduler, worker, recordDir } = await startRig({ headers, direct: true });
      scheduler.addRuns([plannedRun(`headers-${headers}`, 100)]);
      await waitUntil("the result arrives", 20_000, () => scheduler.results().length > 0, worker);
      const [result] = scheduler.results();
      expect(result).toMatchObject({ run_id: `headers-${headers}`, success: true });
      expect([...executions(recordDir).runs]).toEqual([`headers-${headers}`]);
    },
    40_000,
  );
});
