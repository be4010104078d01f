/**
 * Realtime sessions against a scheduler written only from proto/worker_scheduler.proto and the Python
 * SDK's realtime rules: a plain grpc-js server in this file that imports nothing of gen-worker's
 * (src/ or dist/), so it cannot share the worker's mistakes. The worker is `cozy-worker serve`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CLI, REPO_ROOT, removeTenantBundles } from "../../support/runner-process.js";

const PROTO = join(REPO_ROOT, "proto/worker_scheduler.proto");
const PROJECT = join(REPO_ROOT, "test/projects/realtime");
const MIB = 1024 * 1024;

/** The decoded messages this scheduler reads; only the fields the test looks at. */
interface WorkerMessage {
  msg?: string;
  worker_registration?: {
    resources?: { available_functions: string[]; function_schemas: { name: string }[] };
  };
  worker_event?: { run_id: string; event_type: string; payload_json: Buffer };
  realtime_frame?: { session_id: string; data: Buffer; is_text: boolean };
  realtime_close_cmd?: { session_id: string; reason: string };
}

type Call = grpc.ServerDuplexStream<WorkerMessage, Record<string, unknown>>;

/** A scheduler that accepts one worker stream, records what it sends and writes what the test says. */
class WireScheduler {
  readonly received: WorkerMessage[] = [];
  private call: Call | undefined;
  private readonly server = new grpc.Server();
  private waiters: (() => void)[] = [];

  constructor() {
    const definition = protoLoader.loadSync(PROTO, {
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const tree = grpc.loadPackageDefinition(definition) as unknown as {
      scheduler: { v1: { SchedulerWorkerService: { service: grpc.ServiceDefinition } } };
    };
    this.server.addService(tree.scheduler.v1.SchedulerWorkerService.service, {
      ConnectWorker: (call: Call) => {
        this.call = call;
        call.on("data", (message: WorkerMessage) => {
          this.received.push(message);
          for (const wake of this.waiters.splice(0)) wake();
        });
        call.on("end", () => call.end());
        call.on("error", () => {});
      },
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
  }

  send(message: Record<string, unknown>): void {
    if (!this.call) throw new Error("no worker stream");
    this.call.write(message);
  }

  /** Resolves with the first received message (past or future) that matches. */
  async waitFor(match: (message: WorkerMessage) => boolean, timeoutMs = 20_000): Promise<WorkerMessage> {
    const started = Date.now();
    for (let scanned = 0; ; ) {
      for (; scanned < this.received.length; scanned++) {
        const message = this.received[scanned] as WorkerMessage;
        if (match(message)) return message;
      }
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  framesOf(sessionId: string): { data: Buffer; is_text: boolean }[] {
    return this.received
      .filter((message) => message.realtime_frame?.session_id === sessionId)
      .map((message) => message.realtime_frame as { data: Buffer; is_text: boolean });
  }

  closesOf(sessionId: string): string[] {
    return this.received
      .filter((message) => message.realtime_close_cmd?.session_id === sessionId)
      .map((message) => message.realtime_close_cmd?.reason as string);
  }

  closeOf(sessionId: string): Promise<string> {
    return this.waitFor((message) => message.realtime_close_cmd?.session_id === sessionId).then(
      (message) => message.realtime_close_cmd?.reason as string,
    );
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

function open(scheduler: WireScheduler, sessionId: string, functionName: string): void {
  scheduler.send({
    realtime_open_cmd: { session_id: sessionId, function_name: functionName, required_variant_refs: [] },
  });
}

function frame(scheduler: WireScheduler, sessionId: string, data: Buffer, isText = false): void {
  scheduler.send({ realtime_frame: { session_id: sessionId, data, is_text: isText } });
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

let scheduler: WireScheduler;
let worker: ChildProcess;
let workerLog = "";

beforeAll(async () => {
  scheduler = new WireScheduler();
  const port = await scheduler.listen();
  worker = spawn(process.execPath, [CLI, "serve", PROJECT], {
    env: { ...process.env, SCHEDULER_ADDR: `127.0.0.1:${port}`, WORKER_JWT: "wire-test", NO_COLOR: "1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  worker.stderr?.on("data", (chunk: Buffer) => {
    workerLog += chunk.toString();
  });
  await scheduler.waitFor((message) => message.worker_registration !== undefined, 30_000);
}, 40_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((done) => worker.once("exit", done));
    worker.kill("SIGKILL");
    await exited;
  }
  await removeTenantBundles(PROJECT, worker?.pid);
  await scheduler?.stop();
});

describe("a realtime session with a scheduler written from the proto", () => {
  it("registers realtime handlers in available_functions and leaves them out of function_schemas", () => {
    const resources = scheduler.received.find((message) => message.worker_registration)?.worker_registration
      ?.resources;
    expect(resources?.available_functions).toEqual(
      expect.arrayContaining(["add", "echoBytes", "shout", "greet", "watch", "stall"]),
    );
    expect(resources?.function_schemas.map((schema) => schema.name)).toEqual(["add"]);
  });

  it("exchanges 1,000 frames without loss or reordering", async () => {
    const sent: Buffer[] = [];
    for (let i = 0; i < 1000; i++) {
      const data = Buffer.alloc(4 + (i % 97));
      data.writeUInt32BE(i);
      data.fill(i % 251, 4);
      sent.push(data);
    }
    open(scheduler, "wire-1000", "echoBytes");
    for (const data of sent) frame(scheduler, "wire-1000", data);
    const started = Date.now();
    while (scheduler.framesOf("wire-1000").length < 1000) {
      if (Date.now() - started > 20_000) break;
      await pause(20);
    }
    const received = scheduler.framesOf("wire-1000");
    expect(received).toHaveLength(1000);
    expect(received.every((echo) => echo.is_text === false)).toBe(true);
    const firstMismatch = received.findIndex((echo, i) => !echo.data.equals(sent[i] as Buffer));
    expect(firstMismatch).toBe(-1);
    // The scheduler ends it; the worker stops the handler and sends nothing more for it.
    scheduler.send({ realtime_close_cmd: { session_id: "wire-1000", reason: "client_closed" } });
    await pause(300);
    expect(scheduler.closesOf("wire-1000")).toEqual([]);
    expect(scheduler.framesOf("wire-1000")).toHaveLength(1000);
  });

  it("sends text frames as is_text and bytes as binary; is_text of inbound frames does not matter", async () => {
    open(scheduler, "wire-greet", "greet");
    frame(scheduler, "wire-greet", Buffer.from("héllo"), true);
    expect(await scheduler.closeOf("wire-greet")).toBe("completed");
    const frames = scheduler.framesOf("wire-greet");
    expect(frames.map((f) => [f.data.toString("utf8"), f.is_text])).toEqual([
      ["hello wire-greet", true],
      ['{"bytes":6,"text":"héllo"}', true],
    ]);
  });

  it("closes an unknown function with unknown_function, and ignores frames and closes of unknown sessions", async () => {
    open(scheduler, "wire-unknown", "noSuchHandler");
    expect(await scheduler.closeOf("wire-unknown")).toBe("unknown_function");
    frame(scheduler, "wire-nobody", Buffer.from("x"));
    scheduler.send({ realtime_close_cmd: { session_id: "wire-nobody", reason: "closed" } });
    open(scheduler, "wire-after", "shout");
    frame(scheduler, "wire-after", Buffer.from("still here"));
    frame(scheduler, "wire-after", Buffer.from("bye"));
    expect(await scheduler.closeOf("wire-after")).toBe("closed");
    expect(scheduler.framesOf("wire-after").map((f) => f.data.toString())).toEqual(["STILL HERE"]);
    expect(scheduler.closesOf("wire-nobody")).toEqual([]);
  });

  it("closes with error:<ErrorClass> when the handler throws", async () => {
    open(scheduler, "wire-explode", "explode");
    frame(scheduler, "wire-explode", Buffer.from("x"));
    expect(await scheduler.closeOf("wire-explode")).toBe("error:StreamBroke");
  });

  it("closes with frame_too_large for a frame over WORKER_MAX_WS_FRAME_BYTES (1 MiB by default)", async () => {
    open(scheduler, "wire-large", "echoBytes");
    frame(scheduler, "wire-large", Buffer.alloc(MIB));
    await scheduler.waitFor((message) => message.realtime_frame?.session_id === "wire-large");
    frame(scheduler, "wire-large", Buffer.alloc(MIB + 1));
    expect(await scheduler.closeOf("wire-large")).toBe("frame_too_large");
    expect(scheduler.framesOf("wire-large").map((f) => f.data.length)).toEqual([MIB]);
  });

  it("closes with overflow, never dropping silently, when frames outrun a handler that does not read", async () => {
    open(scheduler, "wire-stall", "stall");
    for (let i = 0; i < 20; i++) frame(scheduler, "wire-stall", Buffer.alloc(MIB));
    expect(await scheduler.closeOf("wire-stall")).toBe("overflow");
    await pause(200);
    expect(scheduler.closesOf("wire-stall")).toEqual(["overflow"]);
  });

  it("cancels the handler when the scheduler closes: ctx.signal aborts and the iteration ends", async () => {
    open(scheduler, "wire-watch", "watch");
    frame(scheduler, "wire-watch", Buffer.from("1"));
    frame(scheduler, "wire-watch", Buffer.from("2"));
    await pause(200);
    scheduler.send({ realtime_close_cmd: { session_id: "wire-watch", reason: "client_closed" } });
    const ended = await scheduler.waitFor(
      (message) =>
        message.worker_event?.run_id === "wire-watch" &&
        message.worker_event.event_type === "session.iteration_ended",
    );
    expect(JSON.parse(ended.worker_event?.payload_json.toString() ?? "{}")).toMatchObject({
      frames: 2,
      aborted: true,
    });
    const aborted = scheduler.received.find((m) => m.worker_event?.event_type === "session.aborted");
    expect(JSON.parse(aborted?.worker_event?.payload_json.toString() ?? "{}")).toMatchObject({
      reason: "the client closed the realtime session",
    });
    expect(scheduler.closesOf("wire-watch")).toEqual([]);
    // The log line comes on the worker's stderr, which may be read after the event on the stream.
    await vi.waitFor(() =>
      expect(workerLog).toContain(
        '"sessionId":"wire-watch","reason":"client_closed","msg":"realtime session closed by the scheduler"',
      ),
    );
  });
});
