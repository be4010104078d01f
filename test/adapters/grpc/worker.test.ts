import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReceivedMessage, SchedulerServer } from "../../../src/dev/scheduler-server.js";
import { REPO_ROOT } from "../../support/runner-process.js";
import {
  eventsOf,
  resultOf,
  sendRun,
  startWorkerWithScheduler,
  type WorkerProcess,
} from "../../support/worker-process.js";

const PROJECT = join(REPO_ROOT, "test/projects/runner");

describe("cozy-worker serve against a scheduler on loopback", () => {
  let scheduler: SchedulerServer;
  let worker: WorkerProcess;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ scheduler, worker, stop } = await startWorkerWithScheduler(PROJECT));
  });

  afterAll(async () => {
    await stop?.();
  });

  // The executor's behaviour through this worker (outputs, event order, error mapping, validation,
  // limits, cancellation) is the shared contract in ../executor-contract.ts, run by
  // executor-contract.test.ts; this file keeps what only gRPC has.

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

  it("sends a streaming run's result with an empty output_payload, not a msgpack nil", async () => {
    sendRun(scheduler, "grpc-stream", "words", { text: "a b c" });
    const result = await resultOf(scheduler, "grpc-stream");
    expect(result.success).toBe(true);
    expect(result.output_payload.byteLength).toBe(0);
  });

  it("writes payload_json as JSON.stringify does: the payload's key order, compact, UTF-8, 1 not 1.0", async () => {
    sendRun(scheduler, "grpc-json", "words", { text: "héllo wörld" });
    expect((await resultOf(scheduler, "grpc-json")).success).toBe(true);
    const raw = (type: string) =>
      scheduler.received
        .map((r) => r.message.worker_event)
        .filter((event) => event?.run_id === "grpc-json" && event.event_type === type)
        .map((event) => event?.payload_json.toString("utf8"));
    // The Python SDK: {"delta":"h\u00e9llo"}, {"progress": 1.0, "stage": ...} and metrics.run's keys sorted.
    expect(raw("output.delta")).toEqual(['{"delta":"héllo"}', '{"delta":"wörld"}']);
    const progress = raw("job.progress");
    expect(progress).toHaveLength(2);
    expect(progress[0]).toMatch(/^\{"progress":0\.5,"stage":"speaking","timestamp":\d+(\.\d+)?\}$/);
    expect(progress[1]).toMatch(/^\{"progress":1,"stage":"speaking","timestamp":\d+(\.\d+)?\}$/);
    expect(raw("metrics.run")[0]).toMatch(
      /^\{"schema_version":1,"function_name":"words","inference_ms":\d+,"peak_ram_bytes":\d+\}$/,
    );
  });

  it("reports bad msgpack as validation, and an unknown function as an internal run_result", async () => {
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
    // The dev HTTP runner refuses an unknown function with a 404 and no run result instead (runner.test.ts).
    sendRun(scheduler, "grpc-unknown", "nope", {});
    expect(await resultOf(scheduler, "grpc-unknown")).toMatchObject({
      success: false,
      error_type: "internal",
      retryable: false,
      safe_message: "internal error",
      error_message: "Unknown function requested: nope",
    });
  });

  it("never runs a repeated run_request twice: its result again on a new stream, not twice on one", async () => {
    const isRepeatResult = (r: ReceivedMessage) => r.message.run_result?.run_id === "grpc-repeat";
    const results = () => scheduler.received.filter(isRepeatResult);
    sendRun(scheduler, "grpc-repeat", "echo", { text: "once" });
    const first = await scheduler.waitFor(isRepeatResult, 10_000);
    sendRun(scheduler, "grpc-repeat", "echo", { text: "once" });
    await new Promise((done) => setTimeout(done, 500));
    expect(results()).toHaveLength(1);

    scheduler.dropCurrentStream();
    await scheduler.waitForWorker(20_000, { after: first.stream });
    sendRun(scheduler, "grpc-repeat", "echo", { text: "once" });
    const again = await scheduler.waitFor((r) => isRepeatResult(r) && r !== first, 10_000);
    expect(again.message.run_result).toEqual(first.message.run_result);
    const starts = eventsOf(scheduler, "grpc-repeat").filter((e) => e.type === "metrics.compute.started");
    expect(starts).toHaveLength(1);
  });
});
