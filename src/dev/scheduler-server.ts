/**
 * A stand-in for the Cozy scheduler: a real gRPC server implementing
 * `scheduler.v1.SchedulerWorkerService/ConnectWorker`. It records everything workers send and can
 * inject faults (dropped streams, leader redirects, refused connects, restarts). Used by
 * `cozy-worker invoke --scheduler` and as the scheduler in tests.
 */
import * as grpc from "@grpc/grpc-js";
import {
  SchedulerWorkerService,
  type SchedulerWorkerServiceHandlers,
  type WorkerRegistration__Output,
  type WorkerSchedulerMessage,
  type WorkerSchedulerMessage__Output,
} from "../adapters/grpc/proto.js";
import { joinHostPort, listenAddress } from "../util/host-port.js";

export const Status = grpc.status;

/** A gRPC status a stream is ended with: the code, and the details string the peer reads. */
export interface StreamStatus {
  code: grpc.status;
  details?: string;
}

/** One `ConnectWorker` call, accepted or refused. Its index in `connections` is its stream number. */
export interface SchedulerConnection {
  stream: number;
  /** `Date.now()` when the call arrived. */
  at: number;
  /** The `authorization` metadata value, e.g. `Bearer <jwt>`. */
  authorization?: string;
  /** All metadata of the call; binary (`-bin`) values as base64. */
  metadata: Record<string, string[]>;
  peer: string;
  /** Set when `rejectNewStreams` refused the call. */
  rejected?: StreamStatus;
  /** `Date.now()` when the stream ended, by either side. */
  closedAt?: number;
}

/** One message a worker sent, in arrival order across all streams. */
export interface ReceivedMessage {
  stream: number;
  at: number;
  message: WorkerSchedulerMessage__Output;
}

/** A stream that has sent its first `worker_registration`. */
export interface ConnectedWorker {
  stream: number;
  /** The first registration of the stream. */
  registration: WorkerRegistration__Output;
  connection: SchedulerConnection;
}

export interface SchedulerServerOptions {
  /** Default: insecure. */
  credentials?: grpc.ServerCredentials;
  /** Channel options of the server (message size limits, keepalive); default: gRPC's defaults. */
  serverOptions?: grpc.ServerOptions;
}

/** A wait that ran out of time. */
export class WaitTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WaitTimeoutError";
  }
}

type Call = grpc.ServerDuplexStream<WorkerSchedulerMessage__Output, WorkerSchedulerMessage>;

interface Waiter {
  /** Resolves the wait and returns true when it is satisfied. */
  check(): boolean;
}

export class SchedulerServer {
  /** Every message received from every stream, in order. */
  readonly received: ReceivedMessage[] = [];
  /** Every `ConnectWorker` call, in order; `connections[i].stream === i`. */
  readonly connections: SchedulerConnection[] = [];

  private server: grpc.Server;
  private readonly host: string;
  private boundPort: number;
  private readonly options: SchedulerServerOptions;
  private readonly open = new Map<number, Call>();
  private current: { worker: ConnectedWorker; call: Call } | undefined;
  private rejection: StreamStatus | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(received: ReceivedMessage) => void>();
  private listening = false;

  private constructor(host: string, port: number, options: SchedulerServerOptions) {
    this.host = host;
    this.boundPort = port;
    this.options = options;
    this.server = this.newServer();
  }

  /** Listens on `host:port` (`[::1]:0` for IPv6; port 0 picks a free port). */
  static async start(listen: string, options: SchedulerServerOptions = {}): Promise<SchedulerServer> {
    const { host, port } = listenAddress(listen, 8080);
    const scheduler = new SchedulerServer(host, port, options);
    await scheduler.bind();
    return scheduler;
  }

  /** The bound `host:port` (IPv6 hosts in brackets): what a worker dials. */
  get address(): string {
    return joinHostPort(this.host, this.boundPort);
  }

  get port(): number {
    return this.boundPort;
  }

  /** The newest stream that has registered and is still open. */
  get worker(): ConnectedWorker | undefined {
    return this.current?.worker;
  }

  /**
   * Stops listening and force-closes every stream (a scheduler outage; `restart()` ends it). Records,
   * listeners and pending waits are kept: waits still end at their timeout, or when satisfied after
   * a restart.
   */
  async stop(): Promise<void> {
    if (!this.listening) return;
    this.shutdown();
  }

  /**
   * Simulates a scheduler restart: force-closes every stream (unless stopped already), then listens
   * again on the same port. Records, listeners, pending waits and a `rejectNewStreams` setting are kept.
   */
  async restart(): Promise<void> {
    if (this.listening) this.shutdown();
    this.server = this.newServer();
    await this.bind();
  }

  /** Resolves with the current worker once a stream newer than `after` (a stream number) has registered. */
  waitForWorker(timeoutMs: number, options: { after?: number } = {}): Promise<ConnectedWorker> {
    const after = options.after ?? -1;
    return this.waitUntil(
      () => {
        const worker = this.current?.worker;
        return worker !== undefined && worker.stream > after ? worker : undefined;
      },
      timeoutMs,
      `no worker registered within ${timeoutMs} ms`,
    );
  }

  /** Resolves with the first received message, past or future, that matches. */
  waitFor(predicate: (received: ReceivedMessage) => boolean, timeoutMs: number): Promise<ReceivedMessage> {
    let scanned = 0;
    return this.waitUntil(
      () => {
        for (; scanned < this.received.length; scanned++) {
          const received = this.received[scanned];
          if (received !== undefined && predicate(received)) return received;
        }
        return undefined;
      },
      timeoutMs,
      `no matching message within ${timeoutMs} ms`,
    );
  }

  /** Calls `listener` for each message received from now on; returns the unsubscribe function. */
  onMessage(listener: (received: ReceivedMessage) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Writes a message to the current worker's stream; returns its stream number. */
  send(message: WorkerSchedulerMessage): number {
    const current = this.requireCurrent("send");
    current.call.write(message);
    return current.worker.stream;
  }

  /** Ends the current stream with an error status (default UNAVAILABLE). */
  dropCurrentStream(
    code: grpc.status = Status.UNAVAILABLE,
    details = "stream dropped by the scheduler",
  ): void {
    const current = this.requireCurrent("drop");
    this.endStream(current.worker.stream, current.call, { code, details });
  }

  /** Ends the current stream with FAILED_PRECONDITION and details `not_leader:<leader>`. */
  redirectCurrentStream(leader: string): void {
    this.dropCurrentStream(Status.FAILED_PRECONDITION, `not_leader:${leader}`);
  }

  /**
   * Makes new streams fail at once with this status (they are still recorded in `connections`, with
   * `rejected` set); `undefined` accepts them again. Streams already open are not touched.
   */
  rejectNewStreams(status: StreamStatus | grpc.status | undefined): void {
    this.rejection = typeof status === "number" ? { code: status } : status;
  }

  // ---- internals

  private newServer(): grpc.Server {
    const server = new grpc.Server(this.options.serverOptions);
    const handlers: SchedulerWorkerServiceHandlers = { ConnectWorker: (call) => this.accept(call) };
    server.addService(SchedulerWorkerService, handlers);
    return server;
  }

  private bind(): Promise<void> {
    const target = joinHostPort(this.host, this.boundPort);
    const credentials = this.options.credentials ?? grpc.ServerCredentials.createInsecure();
    return new Promise((resolve, reject) => {
      this.server.bindAsync(target, credentials, (error, port) => {
        if (error) {
          reject(new Error(`cannot listen on ${target}: ${error.message}`));
          return;
        }
        this.boundPort = port;
        this.listening = true;
        resolve();
      });
    });
  }

  private shutdown(): void {
    const at = Date.now();
    for (const stream of this.open.keys()) {
      const connection = this.connections[stream];
      if (connection !== undefined) connection.closedAt ??= at;
    }
    this.open.clear();
    this.current = undefined;
    this.listening = false;
    this.server.forceShutdown();
  }

  private accept(call: Call): void {
    const metadata = metadataRecord(call.metadata);
    const connection: SchedulerConnection = {
      stream: this.connections.length,
      at: Date.now(),
      metadata,
      peer: call.getPeer(),
    };
    const authorization = metadata.authorization?.[0];
    if (authorization !== undefined) connection.authorization = authorization;
    this.connections.push(connection);
    const { stream } = connection;
    if (this.rejection !== undefined) {
      connection.rejected = { ...this.rejection };
      this.endStream(stream, call, this.rejection);
      return;
    }
    this.open.set(stream, call);
    let registered = false;
    call.on("data", (message: WorkerSchedulerMessage__Output) => {
      if (!this.open.has(stream)) return;
      const received: ReceivedMessage = { stream, at: Date.now(), message };
      this.received.push(received);
      if (!registered && message.msg === "worker_registration" && message.worker_registration) {
        registered = true;
        this.current = { worker: { stream, registration: message.worker_registration, connection }, call };
      }
      for (const listener of this.listeners) listener(received);
      this.checkWaiters();
    });
    // The worker half-closed: finish the call with OK.
    call.on("end", () => this.endStream(stream, call, { code: Status.OK }));
    call.on("cancelled", () => this.forget(stream));
    call.on("error", () => this.forget(stream));
  }

  private endStream(stream: number, call: Call, status: StreamStatus): void {
    this.forget(stream);
    if (status.code === Status.OK) {
      call.end();
      return;
    }
    const details = status.details ?? "";
    const error: Partial<grpc.StatusObject> & Error = Object.assign(new Error(details), {
      code: status.code,
      details,
    });
    call.emit("error", error);
  }

  private forget(stream: number): void {
    if (!this.open.delete(stream)) return;
    const connection = this.connections[stream];
    if (connection !== undefined) connection.closedAt ??= Date.now();
    if (this.current?.worker.stream === stream) this.current = undefined;
  }

  private requireCurrent(action: string): { worker: ConnectedWorker; call: Call } {
    if (this.current === undefined) throw new Error(`cannot ${action}: no worker is connected`);
    return this.current;
  }

  private checkWaiters(): void {
    for (const waiter of this.waiters) {
      if (waiter.check()) this.waiters.delete(waiter);
    }
  }

  private waitUntil<T>(find: () => T | undefined, timeoutMs: number, timeoutMessage: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const found = find();
      if (found !== undefined) {
        resolve(found);
        return;
      }
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new WaitTimeoutError(timeoutMessage));
      }, timeoutMs);
      const waiter: Waiter = {
        check: () => {
          const value = find();
          if (value === undefined) return false;
          clearTimeout(timer);
          resolve(value);
          return true;
        },
      };
      this.waiters.add(waiter);
    });
  }
}

function metadataRecord(metadata: grpc.Metadata): Record<string, string[]> {
  const record: Record<string, string[]> = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    record[key] = values.map((value) => (typeof value === "string" ? value : value.toString("base64")));
  }
  return record;
}
