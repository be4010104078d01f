import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ReceivedMessage, SchedulerServer } from "../../../src/dev/scheduler-server.js";
import { REPO_ROOT } from "../../support/runner-process.js";
import {
  decodeOutput,
  eventsOf,
  resultOf,
  sendRun,
  startWorker,
  type WorkerProcess,
} from "../../support/worker-process.js";

const PROJECT = join(REPO_ROOT, "test/projects/runner");

describe("cozy-worker serve against a scheduler on loopback", () => {
  let scheduler: SchedulerServer;
  let worker: WorkerProcess;

  beforeAll(async () => {
    scheduler = await SchedulerServer.start("127.0.0.1:0");
    worker = startWorker(PROJECT, { SCHEDULER_ADDR: scheduler.address });
    await scheduler.waitForWorker(20_000);
  });

  afterAll(async () => {
    await worker?.stop("SIGKILL");
    await scheduler?.stop();
  });

  it("registers honestly: functions, schemas, limits, bearer token (never logged)", async () => {
    const connected = scheduler.worker;
    expect(connected?.connection.authorization).toBe("Bearer test-jwt");
    // The log reaches us through a pipe, possibly after the registration: wait for it.
    for (
      let waited = 0;
      !worker.stderr().includes("connecting to the scheduler") && waited < 5_000;
      waited += 50
    ) {
      await new Promise((done) => setTimeout(done, 50));
    }
    expect(worker.stderr()).toContain("connecting to the scheduler");
    expect(worker.stderr()).not.toContain("test-jwt");
    const resources = connected?.registration.resources;
    expect(connected?.registration.is_heartbeat).toBe(false);
    expect(resources?.worker_id).toBe("");
    expect(resources?.available_functions).toContain("echo");
    expect(resources?.cpu_cores).toBeGreaterThan(0);
    expect(Number(resources?.memory_bytes)).toBeGreaterThan(0);
    expect(resources?.function_concurrency).toMatchObject({ single_slot: 1 });
    const echo = resources?.function_schemas.find((schema) => schema.name === "echo");
    const input = JSON.parse(echo?.input_schema_json.toString("utf8") ?? "{}");
    expect(input.$defs.EchoInput.properties.text).toEqual({ type: "string" });
    const words = resources?.function_schemas.find((schema) => schema.name === "words");
    expect(words?.incremental_output).toBe(true);
  });

  it("runs a task with a msgpack payload and returns a msgpack output after its events", async () => {
    sendRun(scheduler, "grpc-single", "echo", { text: "hi", times: 2 });
    const result = await resultOf(scheduler, "grpc-single");
    expect(result).toMatchObject({ success: true, error_type: "", safe_message: "" });
    expect(decodeOutput(result.output_payload)).toEqual({ text: "hi hi", times: 2 });
    const types = eventsOf(scheduler, "grpc-single").map((e) => e.type);
    expect(types).toEqual([
      "metrics.compute.started",
      "job.log",
      "metrics.compute.completed",
      "metrics.inference",
      "metrics.run",
    ]);
  });

  it("streams deltas as events, then output.completed, then an empty-output result", async () => {
    sendRun(scheduler, "grpc-stream", "words", { text: "a b c" });
    const result = await resultOf(scheduler, "grpc-stream");
    expect(result.success).toBe(true);
    expect(result.output_payload.byteLength).toBe(0);
    const events = eventsOf(scheduler, "grpc-stream").filter((e) => e.type.startsWith("output."));
    expect(events).toEqual([
      { type: "output.delta", payload: { delta: "a" } },
      { type: "output.delta", payload: { delta: "b" } },
      { type: "output.delta", payload: { delta: "c" } },
      { type: "output.completed", payload: {} },
    ]);
  });

  it("reports a failing run with the reference error fields, and bad msgpack as validation", async () => {
    sendRun(scheduler, "grpc-fail", "fail_with", { kind: "retryable" });
    expect(await resultOf(scheduler, "grpc-fail")).toMatchObject({
      success: false,
      error_type: "retryable",
      retryable: true,
      safe_message: "upstream busy at <url>",
    });
    scheduler.send({
      run_request: {
        run_id: "grpc-garbage",
        function_name: "echo",
        input_payload: Buffer.from([0xc1, 0xff]),
      },
    });
    expect(await resultOf(scheduler, "grpc-garbage")).toMatchObject({
      success: false,
      error_type: "validation",
    });
    sendRun(scheduler, "grpc-unknown", "nope", {});
    expect(await resultOf(scheduler, "grpc-unknown")).toMatchObject({
      error_type: "internal",
      error_message: "Unknown function requested: nope",
    });
  });

  it("cancels a run on interrupt_run_cmd and enforces timeout_ms", async () => {
    sendRun(scheduler, "grpc-cancel", "endless", {});
    await scheduler.waitFor(
      (r) =>
        r.message.worker_event?.run_id === "grpc-cancel" &&
        r.message.worker_event.event_type === "output.delta",
      10_000,
    );
    scheduler.send({ interrupt_run_cmd: { run_id: "grpc-cancel" } });
    expect(await resultOf(scheduler, "grpc-cancel")).toMatchObject({
      success: false,
      error_type: "canceled",
    });

    sendRun(scheduler, "grpc-timeout", "wait_for_cancel", { ms: 60_000 }, { timeout_ms: 200 });
    const timedOut = await resultOf(scheduler, "grpc-timeout");
    expect(timedOut).toMatchObject({ success: false, error_type: "canceled" });
    expect(timedOut.safe_message).toContain("timed out after 200 ms");
  });

  it("answers a repeated run_request with the same result instead of running twice", async () => {
    const isRepeatResult = (r: ReceivedMessage) => r.message.run_result?.run_id === "grpc-repeat";
    sendRun(scheduler, "grpc-repeat", "echo", { text: "once" });
    const first = await scheduler.waitFor(isRepeatResult, 10_000);
    sendRun(scheduler, "grpc-repeat", "echo", { text: "once" });
    await scheduler.waitFor((r) => isRepeatResult(r) && r !== first, 5_000);
    await new Promise((done) => setTimeout(done, 300));
    const results = scheduler.received.filter((r) => r.message.run_result?.run_id === "grpc-repeat");
    expect(results).toHaveLength(2);
    const starts = eventsOf(scheduler, "grpc-repeat").filter((e) => e.type === "metrics.compute.started");
    expect(starts).toHaveLength(1);
  });
});
