/**
 * A worker left running for a month must not grow: 100,000 tasks on one stream, in this process, with
 * the heap measured after a full collection at the start and at the end. The scheduler is a bare
 * grpc-js server that keeps nothing of what it receives, so the heap is the worker's.
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as grpc from "@grpc/grpc-js";
import { encode } from "@msgpack/msgpack";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  SchedulerWorkerService,
  type WorkerSchedulerMessage,
  type WorkerSchedulerMessage__Output,
} from "../../../src/adapters/grpc/proto.js";
import { Worker } from "../../../src/adapters/grpc/worker.js";
import type { Manifest } from "../../../src/contract/manifest.js";
import { workerSettingsFromEnv } from "../../../src/settings/worker.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const MANIFEST: Manifest = {
  project_name: "memory",
  runtime: { language: "typescript", node: ">=20", gen_worker: "*", main: "src/main.ts" },
  functions: [
    {
      name: "ping",
      endpoint_name: "ping",
      module: "src/main.ts",
      resources: {},
      payload_type: { module: "src/main.ts", qualname: "PingInput" },
      payload_schema_sha256: "",
      input_schema: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] },
      output_mode: "single",
      output_type: { module: "src/main.ts", qualname: "PingOutput" },
      output_schema_sha256: "",
      output_schema: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] },
      incremental_output: false,
      injection_json: [],
      required_models: [],
      payload_repo_selectors: [],
      export: "ping",
    },
  ],
};

const handlers = { ping: (_ctx: unknown, input: { n: number }) => ({ n: input.n }) };

/** Serves runs of `ping` to the first worker, `inFlight` at a time, until `total` results came back. */
function startScheduler(total: number, inFlight: number, onProgress: (results: number) => void) {
  const server = new grpc.Server();
  let results = 0;
  let sent = 0;
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  server.addService(SchedulerWorkerService, {
    ConnectWorker(call: grpc.ServerDuplexStream<WorkerSchedulerMessage__Output, WorkerSchedulerMessage>) {
      const send = () => {
        const runId = `run-${sent++}`;
        call.write({
          run_request: {
            run_id: runId,
            function_name: "ping",
            input_payload: Buffer.from(encode({ n: sent })),
          },
        });
      };
      let started = false;
      call.on("data", (message: WorkerSchedulerMessage__Output) => {
        if (message.worker_registration && !started) {
          started = true;
          for (let i = 0; i < inFlight; i++) send();
        }
        if (!message.run_result) return;
        results++;
        onProgress(results);
        if (results === total) finished();
        else if (sent < total) send();
      });
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
  });
  return {
    done,
    listen: () =>
      new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) =>
          error ? reject(error) : resolve(port),
        ),
      ),
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe("a worker on one stream for 100,000 tasks", () => {
  const TOTAL = 100_000;
  const WARM_UP = 10_000;
  let heapAtWarmUp = 0;
  let scheduler: ReturnType<typeof startScheduler>;
  let worker: Worker;

  beforeAll(async () => {
    scheduler = startScheduler(TOTAL, 64, (results) => {
      if (results === WARM_UP) heapAtWarmUp = heapAfterGc();
    });
    const port = await scheduler.listen();
    const settings = workerSettingsFromEnv({
      SCHEDULER_ADDR: `127.0.0.1:${port}`,
      WORKER_JWT: "memory-test",
      WORKER_MODEL_CACHE_DIR: "/nonexistent/gen-worker-memory-test",
    });
    worker = new Worker({
      manifest: MANIFEST,
      handlers,
      settings,
      machine: { cpuCores: 1, memoryBytes: 1024 ** 3, onnxruntimeVersion: "" },
      log: pino({ level: "silent" }),
    });
    void worker.run();
  });

  afterAll(async () => {
    await worker?.shutdown();
    await scheduler?.stop();
  });

  it("keeps its heap within a few MB of where it was after warm-up", async () => {
    await scheduler.done;
    const growth = heapAfterGc() - heapAtWarmUp;
    console.log(`heap growth over ${TOTAL - WARM_UP} tasks: ${(growth / 1024 / 1024).toFixed(2)} MB`);
    expect(heapAtWarmUp).toBeGreaterThan(0);
    expect(growth).toBeLessThan(5 * 1024 * 1024);
  }, 120_000);
});
