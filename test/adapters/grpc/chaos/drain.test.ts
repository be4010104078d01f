import { afterEach, describe, expect, it } from "vitest";
import {
  cleanUp,
  executions,
  holdsWithin,
  plannedRun,
  type Rig,
  sleep,
  startRig,
  waitUntil,
  workerLog,
} from "./harness.js";

afterEach(cleanUp);

const RUN_IDS = ["drain-1", "drain-2", "drain-3", "drain-4", "drain-5"];
const RUN_MS = 800;

/** Five runs start, the scheduler dies (SIGKILL), the runs finish while it is down, then SIGTERM. */
async function sigtermDuringOutage(
  rig: Rig,
): Promise<{ stderrAtSigterm: number; acceptedAtSigterm: number }> {
  const { scheduler, proxy, worker, recordDir } = rig;
  scheduler.addRuns(RUN_IDS.map((runId) => plannedRun(runId, RUN_MS)));
  await waitUntil("the five runs start", 10_000, () => executions(recordDir).runs.size === 5, worker);
  await scheduler.kill();
  await sleep(RUN_MS + 500);
  const marks = { stderrAtSigterm: worker.stderr().length, acceptedAtSigterm: proxy.accepted };
  worker.child.kill("SIGTERM");
  return marks;
}

/** An exit with a code other than 0 (killed by a signal does not count). */
function exitedNonZero(rig: Rig): boolean {
  const code = rig.worker.exitCode();
  return typeof code === "number" && code !== 0;
}

function undelivered(rig: Rig): string[] {
  const delivered = new Set(rig.scheduler.results().map((line) => line.run_id));
  return RUN_IDS.filter((runId) => !delivered.has(runId));
}

describe("chaos: SIGTERM while the scheduler is down", () => {
  it("keeps reconnecting, delivers every result when the scheduler is back within the drain timeout, exits 0", async () => {
    const drainSeconds = 8;
    const rig = await startRig({ env: { WORKER_DRAIN_TIMEOUT_SECONDS: String(drainSeconds) } });
    const { acceptedAtSigterm } = await sigtermDuringOutage(rig);
    await sleep(2_000);
    const runningWhileDown = rig.worker.exitCode() === undefined;
    await rig.scheduler.start();
    await holdsWithin((drainSeconds + 5) * 1000, () => rig.worker.exitCode() !== undefined);

    const missing = undelivered(rig);
    expect(
      {
        runningWhileDown,
        reconnectedAfterSigterm: rig.proxy.accepted > acceptedAtSigterm,
        exitCode: rig.worker.exitCode(),
        undelivered: missing,
      },
      `${missing.length} of ${RUN_IDS.length} results lost${workerLog(rig.worker)}`,
    ).toEqual({ runningWhileDown: true, reconnectedAfterSigterm: true, exitCode: 0, undelivered: [] });
    expect(executions(rig.recordDir).duplicated).toEqual([]);
  }, 60_000);

  it("exits non-zero naming the undelivered run ids when the scheduler stays down past the drain timeout", async () => {
    const drainSeconds = 2;
    const rig = await startRig({ env: { WORKER_DRAIN_TIMEOUT_SECONDS: String(drainSeconds) } });
    const { stderrAtSigterm, acceptedAtSigterm } = await sigtermDuringOutage(rig);
    await holdsWithin((drainSeconds + 13) * 1000, () => rig.worker.exitCode() !== undefined);

    const afterSigterm = rig.worker.stderr().slice(stderrAtSigterm);
    const missing = undelivered(rig);
    expect(
      {
        exited: rig.worker.exitCode() !== undefined,
        exitedNonZero: exitedNonZero(rig),
        reconnectedAfterSigterm: rig.proxy.accepted > acceptedAtSigterm,
        unnamed: missing.filter((runId) => !afterSigterm.includes(runId)),
      },
      `exit ${rig.worker.exitCode()} with ${missing.length} of ${RUN_IDS.length} results undelivered${workerLog(rig.worker)}`,
    ).toEqual({ exited: true, exitedNonZero: true, reconnectedAfterSigterm: true, unnamed: [] });
    expect(missing).toEqual(RUN_IDS);
  }, 60_000);
});
