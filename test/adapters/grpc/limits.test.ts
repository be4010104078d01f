/**
 * Sizes at the edges of what the scheduler and the worker accept, through `cozy-worker serve`: a
 * hostile payload is refused without stalling the worker, and a result too big for one gRPC message
 * becomes a failed result instead of a message the scheduler would refuse on every stream.
 */
import { join } from "node:path";
import { encode } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SchedulerServer } from "../../../src/dev/scheduler-server.js";
import { REPO_ROOT } from "../../support/runner-process.js";
import { decodeOutput, resultOf, sendRun, startWorkerWithScheduler } from "../../support/worker-process.js";

const PROJECT = join(REPO_ROOT, "test/projects/runner");

describe("cozy-worker serve at the size limits", () => {
  let scheduler: SchedulerServer;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ scheduler, stop } = await startWorkerWithScheduler(PROJECT, {
      WORKER_HEARTBEAT_SECONDS: "0.2",
    }));
  });

  afterAll(async () => {
    await stop?.();
  });

  it("refuses four million nils as validation, and keeps heartbeating meanwhile", async () => {
    const sentAt = Date.now();
    scheduler.send({
      run_request: {
        run_id: "nils",
        function_name: "echo",
        input_payload: Buffer.from(encode({ text: "x", tags: new Array(4_000_000).fill(null) })),
        timeout_ms: 0,
      },
    });
    const result = await resultOf(scheduler, "nils");
    expect(result.error_type).toBe("validation");
    expect(result.error_message).toMatch(/1,?000,?000/);
    await new Promise((done) => setTimeout(done, 1_000));
    const heartbeats = scheduler.received
      .filter((r) => r.message.worker_registration?.is_heartbeat && r.at >= sentAt - 1_000)
      .map((r) => r.at);
    const gaps = heartbeats.slice(1).map((at, i) => at - (heartbeats[i] as number));
    expect(heartbeats.length).toBeGreaterThan(4);
    expect(Math.max(...gaps)).toBeLessThan(2_000);
  });

  it("fails a result over the scheduler's 4 MiB message limit as resource, and delivers the runs after it", async () => {
    sendRun(scheduler, "too-big", "echo", { text: "x".repeat(600_000), times: 9 });
    const big = await resultOf(scheduler, "too-big");
    expect(big.success).toBe(false);
    expect(big.error_type).toBe("resource");
    expect(big.error_message).toMatch(/Output payload too large: \d+ bytes \(max \d+\)/);
    expect(big.output_payload.byteLength).toBe(0);

    sendRun(scheduler, "after-big", "echo", { text: "small", times: 2 });
    const after = await resultOf(scheduler, "after-big");
    expect(after.success).toBe(true);
    expect(decodeOutput(after.output_payload)).toEqual({ text: "small small", times: 2 });
  });

  it("takes a run_request over 4 MiB and runs it: the worker's receive limit is not grpc-js's 4 MiB", async () => {
    const text = "y".repeat(5_000_000);
    sendRun(scheduler, "big-in", "echo", { text, times: 1 });
    const result = await resultOf(scheduler, "big-in");
    // The handler ran on the whole input: it echoed 5 MB back, which the result limit then refused.
    expect(result.error_type).toBe("resource");
    expect(result.error_message).toMatch(/Output payload too large: 50000\d\d bytes/);
  });
});
