import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  SchedulerWorkerServiceClient,
  type WorkerSchedulerMessage,
  type WorkerSchedulerMessage__Output,
} from "../../src/adapters/grpc/proto.js";
import { SchedulerServer, Status, WaitTimeoutError } from "../../src/dev/scheduler-server.js";

/** One `ConnectWorker` stream of a stand-in worker. */
interface TestStream {
  call: grpc.ClientDuplexStream<WorkerSchedulerMessage, WorkerSchedulerMessage__Output>;
  received: WorkerSchedulerMessage__Output[];
  /** The stream's final status (OK or the error the scheduler ended it with). */
  status: Promise<grpc.StatusObject>;
}

const servers: SchedulerServer[] = [];
const clients: grpc.Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function startServer(listen = "127.0.0.1:0"): Promise<SchedulerServer> {
  const server = await SchedulerServer.start(listen);
  servers.push(server);
  return server;
}

function connect(address: string, token = "test-jwt"): TestStream {
  const client = new SchedulerWorkerServiceClient(address, grpc.credentials.createInsecure());
  clients.push(client);
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  const call = client.ConnectWorker(metadata);
  const received: WorkerSchedulerMessage__Output[] = [];
  call.on("data", (message: WorkerSchedulerMessage__Output) => received.push(message));
  call.on("error", () => {}); // reported through `status`
  const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  return { call, received, status };
}

function register(stream: TestStream, options: { heartbeat?: boolean; functions?: string[] } = {}): void {
  stream.call.write({
    worker_registration: {
      resources: { worker_id: "", release_id: "", available_functions: options.functions ?? ["add_numbers"] },
      is_heartbeat: options.heartbeat ?? false,
    },
  });
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("SchedulerServer", () => {
  it("records connections with their metadata and every message in order", async () => {
    const server = await startServer();
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
    const stream = connect(server.address);
    register(stream);
    const worker = await server.waitForWorker(5000);
    expect(worker.stream).toBe(0);
    expect(worker.registration.resources?.available_functions).toEqual(["add_numbers"]);
    expect(worker.connection.authorization).toBe("Bearer test-jwt");
    expect(server.connections).toHaveLength(1);
    expect(server.connections[0]?.metadata.authorization).toEqual(["Bearer test-jwt"]);
    expect(server.connections[0]?.stream).toBe(0);

    register(stream, { heartbeat: true });
    stream.call.write({
      worker_event: { run_id: "", event_type: "model.ready", payload_json: Buffer.from('{"model_id":"m"}') },
    });
    const event = await server.waitFor((received) => received.message.msg === "worker_event", 2000);
    expect(event.message.worker_event?.event_type).toBe("model.ready");
    expect(event.message.worker_event?.payload_json.toString()).toBe('{"model_id":"m"}');
    expect(server.received.map((received) => [received.stream, received.message.msg])).toEqual([
      [0, "worker_registration"],
      [0, "worker_registration"],
      [0, "worker_event"],
    ]);
    expect(server.received[1]?.message.worker_registration?.is_heartbeat).toBe(true);

    // A past message matches at once.
    const first = await server.waitFor((received) => received.message.msg === "worker_registration", 10);
    expect(first).toBe(server.received[0]);
  });

  it("sends to the newest registered stream, and calls message listeners", async () => {
    const server = await startServer();
    const seen: string[] = [];
    const unsubscribe = server.onMessage((received) =>
      seen.push(`${received.stream}:${received.message.msg}`),
    );
    const older = connect(server.address);
    register(older);
    await server.waitForWorker(5000);
    const newer = connect(server.address, "newer-jwt");
    register(newer);
    const worker = await server.waitForWorker(5000, { after: 0 });
    expect(worker.stream).toBe(1);
    expect(server.worker?.stream).toBe(1);
    expect(server.connections[1]?.authorization).toBe("Bearer newer-jwt");

    expect(server.send({ run_request: { run_id: "r1", function_name: "add_numbers" } })).toBe(1);
    await until(() => newer.received.length === 1);
    expect(newer.received[0]?.msg).toBe("run_request");
    expect(newer.received[0]?.run_request?.run_id).toBe("r1");
    expect(older.received).toEqual([]);
    expect(seen).toEqual(["0:worker_registration", "1:worker_registration"]);
    unsubscribe();
    register(newer, { heartbeat: true });
    await server.waitFor((received) => received.message.worker_registration?.is_heartbeat === true, 2000);
    expect(seen).toHaveLength(2);
  });

  it("times out waits with WaitTimeoutError", async () => {
    const server = await startServer();
    await expect(server.waitForWorker(50)).rejects.toThrow(WaitTimeoutError);
    await expect(server.waitFor(() => true, 50)).rejects.toThrow("no matching message within 50 ms");
    expect(() => server.send({ run_request: {} })).toThrow("no worker is connected");
  });

  it("the worker half-closing ends the stream with OK and forgets the worker", async () => {
    const server = await startServer();
    const stream = connect(server.address);
    register(stream);
    await server.waitForWorker(5000);
    stream.call.end();
    expect((await stream.status).code).toBe(Status.OK);
    await until(() => server.worker === undefined);
    expect(server.connections[0]?.closedAt).toBeTypeOf("number");
  });

  it("dropCurrentStream ends the stream with the given status code", async () => {
    const server = await startServer();
    const stream = connect(server.address);
    register(stream);
    await server.waitForWorker(5000);
    server.dropCurrentStream();
    const status = await stream.status;
    expect(status.code).toBe(Status.UNAVAILABLE);
    expect(status.details).toBe("stream dropped by the scheduler");
    expect(server.worker).toBeUndefined();
    expect(() => server.send({ run_request: {} })).toThrow("no worker is connected");

    const again = connect(server.address);
    register(again);
    await server.waitForWorker(5000, { after: 0 });
    server.dropCurrentStream(Status.INTERNAL, "boom");
    expect(await again.status).toMatchObject({ code: Status.INTERNAL, details: "boom" });
  });

  it("redirectCurrentStream ends the stream with FAILED_PRECONDITION and not_leader:<address>", async () => {
    const server = await startServer();
    const stream = connect(server.address);
    register(stream);
    await server.waitForWorker(5000);
    server.redirectCurrentStream("127.0.0.1:9999");
    const status = await stream.status;
    expect(status.code).toBe(Status.FAILED_PRECONDITION);
    expect(status.details).toBe("not_leader:127.0.0.1:9999");
  });

  it("rejectNewStreams fails new streams at once, and still records them", async () => {
    const server = await startServer();
    server.rejectNewStreams(Status.UNAVAILABLE);
    const first = connect(server.address);
    expect((await first.status).code).toBe(Status.UNAVAILABLE);
    server.rejectNewStreams({ code: Status.FAILED_PRECONDITION, details: "not_leader:127.0.0.1:1" });
    const second = connect(server.address);
    expect(await second.status).toMatchObject({
      code: Status.FAILED_PRECONDITION,
      details: "not_leader:127.0.0.1:1",
    });
    expect(server.connections.map((connection) => connection.rejected?.code)).toEqual([
      Status.UNAVAILABLE,
      Status.FAILED_PRECONDITION,
    ]);
    expect(server.connections[0]?.authorization).toBe("Bearer test-jwt");

    server.rejectNewStreams(undefined);
    const third = connect(server.address);
    register(third);
    const worker = await server.waitForWorker(5000);
    expect(worker.stream).toBe(2);
    expect(server.connections[2]?.rejected).toBeUndefined();
  });

  it("restart drops the streams, keeps the records, and listens again on the same port", async () => {
    const server = await startServer();
    const address = server.address;
    const stream = connect(address);
    register(stream);
    await server.waitForWorker(5000);

    await server.restart();
    expect(server.address).toBe(address);
    expect((await stream.status).code).not.toBe(Status.OK);
    expect(server.worker).toBeUndefined();

    const again = connect(address, "second-jwt");
    register(again, { functions: ["hello"] });
    const worker = await server.waitForWorker(5000);
    expect(worker.stream).toBe(1);
    expect(worker.registration.resources?.available_functions).toEqual(["hello"]);
    expect(server.connections.map((connection) => connection.authorization)).toEqual([
      "Bearer test-jwt",
      "Bearer second-jwt",
    ]);
    expect(server.received.map((received) => received.stream)).toEqual([0, 1]);
    server.send({ interrupt_run_cmd: { run_id: "r" } });
    await until(() => again.received.length === 1);
    expect(again.received[0]?.interrupt_run_cmd?.run_id).toBe("r");
  });

  it("a wait pending across a restart resolves with the new stream", async () => {
    const server = await startServer();
    const waiting = server.waitForWorker(5000);
    await server.restart();
    const stream = connect(server.address);
    register(stream);
    expect((await waiting).stream).toBe(0);
  });

  it("stop force-closes streams; restart after a stop ends the outage, and pending waits survive it", async () => {
    const server = await startServer();
    const address = server.address;
    const stream = connect(address);
    register(stream);
    await server.waitForWorker(5000);
    const pending = server.waitFor((received) => received.message.msg === "run_result", 5000);
    await server.stop();
    await server.stop();
    expect((await stream.status).code).not.toBe(Status.OK);
    expect(server.worker).toBeUndefined();

    await server.restart();
    expect(server.address).toBe(address);
    const again = connect(address);
    register(again);
    again.call.write({ run_result: { run_id: "r", success: true } });
    const result = await pending;
    expect(result.stream).toBe(1);
    expect(result.message.run_result?.run_id).toBe("r");
  });

  it("listens on IPv6 loopback", async () => {
    const server = await startServer("[::1]:0");
    expect(server.address).toBe(`[::1]:${server.port}`);
    const stream = connect(server.address);
    register(stream);
    expect((await server.waitForWorker(5000)).stream).toBe(0);
  });

  it("refuses an address that is not host:port", async () => {
    await expect(SchedulerServer.start("nonsense")).rejects.toThrow("not host:port");
  });
});
