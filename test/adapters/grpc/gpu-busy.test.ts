/**
 * `gpu_is_busy` in registrations: true while a run or a model load is in flight on a machine with a
 * GPU (here a fake one, WORKER_FAKE_GPU_COUNT), and never on a machine without one.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../support/runner-process.js";
import { resultOf, sendRun, startWorkerWithScheduler } from "../../support/worker-process.js";

const PROJECT = join(REPO_ROOT, "test/projects/runner");
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function busyDuringRun(env: NodeJS.ProcessEnv): Promise<{ during: boolean[]; after: boolean }> {
  const { scheduler, stop } = await startWorkerWithScheduler(PROJECT, {
    WORKER_HEARTBEAT_SECONDS: "0.1",
    ...env,
  });
  cleanups.push(stop);
  const heartbeats = () => scheduler.received.filter((r) => r.message.worker_registration?.is_heartbeat);
  sendRun(scheduler, "busy-run", "sleep_ms", { ms: 1_000 });
  await scheduler.waitFor((r) => r.message.worker_event?.event_type === "metrics.compute.started", 5_000);
  const startedAt = Date.now();
  await resultOf(scheduler, "busy-run");
  const finishedAt = Date.now();
  await new Promise((done) => setTimeout(done, 400));
  const during = heartbeats()
    .filter((r) => r.at > startedAt + 100 && r.at < finishedAt - 100)
    .map((r) => r.message.worker_registration?.resources?.gpu_is_busy === true);
  const last = heartbeats().at(-1);
  return { during, after: last?.message.worker_registration?.resources?.gpu_is_busy === true };
}

describe("gpu_is_busy", () => {
  it("is true while a run is in flight on a machine with a GPU, false after", async () => {
    const { during, after } = await busyDuringRun({ WORKER_FAKE_GPU_COUNT: "1" });
    expect(during.length).toBeGreaterThan(0);
    expect(during.every(Boolean)).toBe(true);
    expect(after).toBe(false);
  }, 40_000);

  it("stays false on a machine without a GPU", async () => {
    const { during } = await busyDuringRun({ WORKER_FAKE_GPU_COUNT: "0" });
    expect(during.length).toBeGreaterThan(0);
    expect(during.some(Boolean)).toBe(false);
  }, 40_000);
});
