/**
 * What `cozy-worker serve` does with run_requests the Python SDK (gen-worker 0.2.1) ignored or refused,
 * on purpose (docs/differences.md): a repeat of a run in flight, a run without a run_id, a function
 * named by its endpoint slug.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SchedulerServer } from "../../../src/dev/scheduler-server.js";
import { REPO_ROOT } from "../../support/runner-process.js";
import {
  decodeOutput,
  eventsOf,
  resultOf,
  sendRun,
  startWorkerWithScheduler,
} from "../../support/worker-process.js";

const PROJECT = join(REPO_ROOT, "test/projects/runner");

describe("cozy-worker serve: run_requests the Python SDK ignored", () => {
  let scheduler: SchedulerServer;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ scheduler, stop } = await startWorkerWithScheduler(PROJECT));
  });

  afterAll(async () => {
    await stop?.();
  });

  it("answers a repeat of a run in flight with a run.duplicate event, and sends the one result once", async () => {
    sendRun(scheduler, "dep-repeat", "sleep_ms", { ms: 600 });
    await new Promise((done) => setTimeout(done, 150));
    sendRun(scheduler, "dep-repeat", "sleep_ms", { ms: 600 });
    const result = await resultOf(scheduler, "dep-repeat");
    expect(result.success).toBe(true);
    expect(decodeOutput(result.output_payload)).toEqual({ slept: 600 });
    await new Promise((done) => setTimeout(done, 300));
    const events = eventsOf(scheduler, "dep-repeat");
    expect(events.filter((e) => e.type === "run.duplicate")).toEqual([
      { type: "run.duplicate", payload: { state: "running" } },
    ]);
    expect(events.filter((e) => e.type === "metrics.compute.started")).toHaveLength(1);
    const results = scheduler.received.filter((r) => r.message.run_result?.run_id === "dep-repeat");
    expect(results).toHaveLength(1);
  });

  it("refuses a run_request without a run_id with a validation run_result, running nothing", async () => {
    sendRun(scheduler, "", "echo", { text: "hi" });
    const result = await resultOf(scheduler, "");
    expect(result).toMatchObject({ success: false, error_type: "validation", retryable: false });
    expect(result.error_message).toContain("run_request without a run_id");
    expect(eventsOf(scheduler, "").filter((e) => e.type.startsWith("metrics."))).toEqual([]);
  });

  it("runs a function named by its endpoint slug (the Python SDK answered Unknown function)", async () => {
    sendRun(scheduler, "dep-slug", "echo-sync", { text: "x y" });
    const result = await resultOf(scheduler, "dep-slug");
    expect(result.success).toBe(true);
    expect(decodeOutput(result.output_payload)).toEqual({ text: "x y" });
  });
});
