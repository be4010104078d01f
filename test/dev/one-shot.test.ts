import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { decode, encode } from "@msgpack/msgpack";
import { afterEach, describe, expect, it } from "vitest";
import {
  SchedulerWorkerServiceClient,
  type TaskExecutionRequest__Output,
  type WorkerSchedulerMessage,
  type WorkerSchedulerMessage__Output,
} from "../../src/adapters/grpc/proto.js";
import { OneShotExit, type OneShotOptions, runOneShot } from "../../src/dev/one-shot.js";

/**
 * A stand-in for the worker (`cozy-worker serve`): dials the scheduler with a bearer token,
 * registers, and answers each run_request with `onRun`.
 */
class FakeWorker {
  readonly requests: TaskExecutionRequest__Output[] = [];
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<WorkerSchedulerMessage, WorkerSchedulerMessage__Output>;

  constructor(
    address: string,
    options: {
      token?: string;
      functions?: string[];
      onRun?: (request: TaskExecutionRequest__Output, worker: FakeWorker) => void | Promise<void>;
    } = {},
  ) {
    const client = new SchedulerWorkerServiceClient(address, grpc.credentials.createInsecure());
    this.client = client;
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${options.token ?? "test-jwt"}`);
    this.call = client.ConnectWorker(metadata);
    this.call.on("error", () => {}); // the one-shot scheduler drops the stream when it is done
    this.call.on("data", (message: WorkerSchedulerMessage__Output) => {
      if (message.msg !== "run_request" || !message.run_request) return;
      this.requests.push(message.run_request);
      void options.onRun?.(message.run_request, this);
    });
    this.register(false, options.functions ?? ["add_numbers"]);
    workers.push(this);
  }

  register(heartbeat: boolean, functions = ["add_numbers"]): void {
    this.send({
      worker_registration: {
        resources: { worker_id: "", release_id: "", available_functions: functions, vram_models: ["m1"] },
        is_heartbeat: heartbeat,
      },
    });
  }

  event(runId: string, type: string, payload: unknown): void {
    this.send({
      worker_event: { run_id: runId, event_type: type, payload_json: Buffer.from(JSON.stringify(payload)) },
    });
  }

  result(runId: string, fields: Omit<NonNullable<WorkerSchedulerMessage["run_result"]>, "run_id">): void {
    this.send({ run_result: { run_id: runId, ...fields } });
  }

  send(message: WorkerSchedulerMessage): void {
    this.call.write(message);
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

const workers: FakeWorker[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const worker of workers.splice(0)) worker.close();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

interface Transcript {
  code: number;
  stdout: string[];
  stderr: string[];
  worker: FakeWorker | undefined;
  fileApiUrl: string | undefined;
}

/** Runs the one-shot scheduler on a loopback port; a fake worker connects when `worker` is given. */
async function oneShot(
  options: Partial<OneShotOptions> & { worker?: ConstructorParameters<typeof FakeWorker>[1] | false },
): Promise<Transcript> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let worker: FakeWorker | undefined;
  let fileApiUrl: string | undefined;
  const { worker: workerOptions = {}, ...rest } = options;
  const code = await runOneShot({
    functionName: "add_numbers",
    payload: { a: 2, b: 3 },
    listen: "127.0.0.1:0",
    waitS: 5,
    ...rest,
    writer: { stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line) },
    onListening: (info) => {
      fileApiUrl = info.fileApiUrl;
      if (workerOptions !== false) worker = new FakeWorker(info.schedulerAddress, workerOptions);
    },
  });
  return { code, stdout, stderr, worker, fileApiUrl };
}

describe("runOneShot", () => {
  it("sends one run and prints the connection, the request and the sorted output", async () => {
    const run = await oneShot({
      timeoutMs: 1500,
      owner: "tenant-1",
      userId: "user-1",
      requiredModels: ["cozy:acme/model:latest", "hf:acme/other"],
      fileBaseUrl: "http://files.test",
      fileToken: "file-token",
      worker: {
        onRun: (request, worker) => {
          const { a, b } = decode(request.input_payload) as { a: number; b: number };
          worker.event(request.run_id, "metrics.compute.started", { at: "2026-01-01T00:00:00.000000Z" });
          worker.result(request.run_id, {
            success: true,
            output_payload: encode({ result: a + b, nested: { z: 1, a: [true, null] } }),
          });
        },
      },
    });
    expect(run.code).toBe(OneShotExit.Success);
    const request = run.worker?.requests[0];
    expect(request).toMatchObject({
      function_name: "add_numbers",
      timeout_ms: 1500,
      owner: "tenant-1",
      user_id: "user-1",
      required_variant_refs: ["cozy:acme/model:latest", "hf:acme/other"],
      file_base_url: "http://files.test",
      file_token: "file-token",
    });
    expect(request?.run_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(run.stdout).toEqual([
      "[connected] worker_id='' release_id=''",
      "[connected] functions=['add_numbers']",
      expect.stringMatching(/^\[connected\] metadata=\[.*\('authorization', 'Bearer test\.\.\.<redacted>'\)/),
      `[sent] run_id=${request?.run_id} function='add_numbers'`,
      `[output] ${JSON.stringify({ nested: { a: [true, null], z: 1 }, result: 5 }, null, 2)}`,
    ]);
    expect(run.stderr[0]).toMatch(
      /^\[listening\] scheduler=127\.0\.0\.1:\d+; waiting up to 5s for a worker$/,
    );
  });

  it("reports a failed run on stderr and exits 1", async () => {
    const run = await oneShot({
      payload: { a: "x", b: 3 },
      worker: {
        onRun: (request, worker) =>
          worker.result(request.run_id, {
            success: false,
            error_type: "internal",
            retryable: false,
            safe_message: "internal error",
            error_message: "ValidationError: Expected `int`, got `str` - at `$.a`",
          }),
      },
    });
    expect(run.code).toBe(OneShotExit.RunFailed);
    expect(run.stdout.at(-1)).toBe("[output] <empty>");
    expect(run.stderr.slice(-2)).toEqual([
      "[error] type='internal' retryable=False safe='internal error'",
      "[error] message=ValidationError: Expected `int`, got `str` - at `$.a`",
    ]);
  });

  it("exits 2 when no worker connects within --wait-s", async () => {
    const started = Date.now();
    const run = await oneShot({ waitS: 0.5, worker: false });
    expect(run.code).toBe(OneShotExit.NoWorker);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(run.stdout).toEqual([]);
    expect(run.stderr.at(-1)).toBe("[error] no worker connected within 0.5s");
  });

  it("exits 3 when the result does not come in time", async () => {
    const run = await oneShot({ resultTimeoutS: 0.3, worker: {} });
    expect(run.code).toBe(OneShotExit.NoResult);
    expect(run.worker?.requests).toHaveLength(1);
    expect(run.stdout.at(-1)).toMatch(/^\[sent\] /);
    expect(run.stderr.at(-1)).toBe("[error] no result within 0.3s of sending the run");
  });

  it("always prints the deltas of a streaming run; other events with --print-events", async () => {
    const streaming: ConstructorParameters<typeof FakeWorker>[1] = {
      functions: ["words"],
      onRun: (request, worker) => {
        worker.event(request.run_id, "metrics.compute.started", { at: "t0" });
        for (const token of ["one", "two", "three"]) worker.event(request.run_id, "output.delta", { token });
        worker.event(request.run_id, "output.completed", {});
        worker.event(request.run_id, "metrics.run", { function_name: "words", schema_version: 1 });
        worker.result(request.run_id, { success: true });
      },
    };
    const quiet = await oneShot({
      functionName: "words",
      payload: { text: "one two three" },
      worker: streaming,
    });
    expect(quiet.code).toBe(OneShotExit.Success);
    expect(quiet.stdout.slice(3)).toEqual([
      expect.stringMatching(/^\[sent\] run_id=\S+ function='words'$/),
      '[event] output.delta: {"token":"one"}',
      '[event] output.delta: {"token":"two"}',
      '[event] output.delta: {"token":"three"}',
      "[output] <empty>",
    ]);

    const loud = await oneShot({ functionName: "words", payload: {}, printEvents: true, worker: streaming });
    expect(loud.stdout.filter((line) => line.startsWith("[event]"))).toEqual([
      '[event] metrics.compute.started: {"at":"t0"}',
      '[event] output.delta: {"token":"one"}',
      '[event] output.delta: {"token":"two"}',
      '[event] output.delta: {"token":"three"}',
      "[event] output.completed: {}",
      '[event] metrics.run: {"function_name":"words","schema_version":1}',
    ]);
  });

  it("redacts the bearer token in the metadata line", async () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3b3JrZXIifQ.c2lnbmF0dXJl";
    const run = await oneShot({
      resultTimeoutS: 0.2,
      worker: { token: jwt, onRun: (request, worker) => worker.result(request.run_id, { success: true }) },
    });
    const metadata = run.stdout.find((line) => line.startsWith("[connected] metadata="));
    expect(metadata).toContain("('authorization', 'Bearer eyJhbGci...<redacted>')");
    expect(run.stdout.join("\n")).not.toContain(jwt.slice(8));
  });

  it("prints registrations and heartbeats with --print-registrations", async () => {
    const run = await oneShot({
      printRegistrations: true,
      worker: {
        onRun: (request, worker) => {
          worker.register(true);
          worker.result(request.run_id, { success: true, output_payload: encode("done") });
        },
      },
    });
    expect(run.code).toBe(OneShotExit.Success);
    expect(run.stdout.filter((line) => line.startsWith("[registration]"))).toEqual([
      "[registration] stream=0 heartbeat=False functions=['add_numbers'] vram_models=['m1'] disk_models=[] gpu_is_busy=False",
      "[registration] stream=0 heartbeat=True functions=['add_numbers'] vram_models=['m1'] disk_models=[] gpu_is_busy=False",
    ]);
    expect(run.stdout.at(-1)).toBe('[output] "done"');
  });

  it("serves a dev file API and passes its URL and token to the worker", async () => {
    const dir = await mkdtemp(join(tmpdir(), "one-shot-files-"));
    dirs.push(dir);
    const run = await oneShot({
      functionName: "make_file",
      serveFilesDir: dir,
      serveFilesListen: "127.0.0.1:0",
      fileToken: "dev-token",
      worker: {
        onRun: async (request, worker) => {
          const ref = `runs/${request.run_id}/outputs/out.txt`;
          const response = await fetch(`${request.file_base_url}/api/v1/file/${ref}`, {
            method: "POST",
            headers: { authorization: `Bearer ${request.file_token}` },
            body: "file body",
          });
          const stored = (await response.json()) as Record<string, unknown>;
          worker.result(request.run_id, {
            success: true,
            output_payload: encode({ ref, size: stored.size_bytes }),
          });
        },
      },
    });
    expect(run.code).toBe(OneShotExit.Success);
    const request = run.worker?.requests[0];
    expect(run.fileApiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(request?.file_base_url).toBe(run.fileApiUrl);
    expect(request?.file_token).toBe("dev-token");
    expect(await readFile(join(dir, `runs/${request?.run_id}/outputs/out.txt`), "utf8")).toBe("file body");
    expect(run.stdout.at(-1)).toContain('"size": 9');
  });
});
