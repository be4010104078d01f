import * as grpc from "@grpc/grpc-js";
import { UserError } from "../../contract/user-errors.js";
import type { Logger } from "../../host/logger.js";
import { leaderFromDetails, type SchedulerAddress } from "../../settings/scheduler-address.js";
import type { ReconnectPolicy } from "../../settings/worker.js";
import { reconnectDelayMs } from "./backoff.js";
import { channelReady, type NotReady } from "./channel-ready.js";
import { Outbox, type OutgoingMessage } from "./outbox.js";
import {
  CONNECT_WORKER_PATH,
  type WorkerSchedulerMessage,
  type WorkerSchedulerMessage__Output,
} from "./proto.js";
import { UnconfirmedWrites } from "./unconfirmed-writes.js";
import { decodeMessage, encodeMessage } from "./wire.js";

export interface SchedulerConnectionOptions {
  addresses: readonly SchedulerAddress[];
  /** The token for the next connect (rotation takes effect on the next stream). */
  token(): string;
  reconnect: ReconnectPolicy;
  heartbeatMs: number;
  outboxLimit: number;
  keepalive: { timeMs: number; timeoutMs: number };
  connectTimeoutMs: number;
  /** A registration envelope, first on every stream and then as the heartbeat. */
  registration(isHeartbeat: boolean): WorkerSchedulerMessage;
  onMessage(message: WorkerSchedulerMessage__Output): void;
  log: Logger;
}

/** A stream that lived this long, or brought a message, was healthy: the backoff starts over. */
const HEALTHY_AFTER_MS = 5_000;
/** Redirects in a row after which a redirect counts as a failure (two schedulers pointing at each other). */
const MAX_FREE_REDIRECTS = 3;
/** Results remembered per stream, to answer a re-dispatched run without sending its result twice. */
const REMEMBERED_RESULTS = 10_000;

type Call = grpc.ClientDuplexStream<Buffer, WorkerSchedulerMessage__Output>;

interface Session {
  call: Call;
  client: grpc.Client;
  closed: boolean;
  halfClosed: boolean;
  writable: boolean;
  unconfirmed: UnconfirmedWrites;
  /** Run ids whose results this stream carried, oldest first, at most {@link REMEMBERED_RESULTS}. */
  resultsSent: Set<string>;
  sweep: NodeJS.Timeout;
  heartbeat: NodeJS.Timeout;
  /** Ends the session: what it may not have delivered is queued again, and its attempt resolves. */
  finish(status: grpc.StatusObject | undefined): void;
}

interface SessionOutcome {
  received: boolean;
  status: grpc.StatusObject | undefined;
  notReady?: NotReady;
}

/** MAX_RECONNECT_ATTEMPTS connections in a row failed. */
export class GaveUpError extends UserError {}

/** Where the result of a finished run stands, for a run_request that repeats it. */
export type ResultState = "queued" | "sent-on-this-stream" | "not-here";

/**
 * The worker's link to the scheduler: one `ConnectWorker` stream at a time, re-dialled with
 * exponential backoff and jitter after every failure (a connection that is not ready within the
 * connect timeout, and a stream that breaks right after opening, included), `not_leader:<addr>`
 * redirects followed, keepalive pings that notice a dead link, and delivery that loses nothing:
 * a message is written only once the channel is connected, and a kept message leaves the worker
 * only once the stream outlived a keepalive detection window after its write (or the scheduler
 * ended the stream after reading it to its end); whatever a broken stream may not have delivered
 * goes out again, first and in order, on the next one.
 */
export class SchedulerConnection {
  private readonly outbox: Outbox;
  private session: Session | undefined;
  /** The client of an attempt still waiting for its connection. */
  private connecting: grpc.Client | undefined;
  private stopping = false;
  private stopped = false;
  private failures = 0;
  private redirects = 0;
  private nextAddress = 0;
  private leaderHint: string | undefined;
  private interruptSleep: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private deliveredWaiters: (() => void)[] = [];
  private readonly confirmWindowMs: number;
  private readonly roundTripBoundMs: number;

  constructor(private readonly options: SchedulerConnectionOptions) {
    this.outbox = new Outbox(options.outboxLimit);
    const { timeMs, timeoutMs } = options.keepalive;
    // A write made just after a ping was answered is covered by the next ping, sent within timeMs
    // of that answer (which may take timeoutMs to come back) and answered within timeoutMs.
    this.confirmWindowMs = timeMs + 2 * timeoutMs;
    // While a stream lives, every ping came back within timeoutMs, so a round trip takes less. A
    // message the scheduler sent at least that long after one of our writes was sent after the
    // write reached it: the scheduler was alive, the link worked, and the write was there to read.
    this.roundTripBoundMs = timeoutMs;
  }

  /** Runs until {@link stop}; rejects with {@link GaveUpError} after MAX_RECONNECT_ATTEMPTS failures. */
  start(): Promise<void> {
    this.loop ??= this.run();
    return this.loop;
  }

  /** Queues a serialized message. */
  send(message: OutgoingMessage): void {
    this.outbox.push(message);
  }

  /** Where the result of `runId` stands: still queued, already carried by the current stream, or neither. */
  resultState(runId: string): ResultState {
    if (this.outbox.hasResultOf(runId)) return "queued";
    return this.session?.resultsSent.has(runId) ? "sent-on-this-stream" : "not-here";
  }

  /** Sends a registration now on the open stream (after a change the scheduler should hear of). */
  sendRegistration(): void {
    const session = this.session;
    if (session && !session.closed && !session.halfClosed) {
      session.call.write(encodeMessage(this.options.registration(true)));
    }
  }

  /** Whether every kept message has been delivered (none queued, none unconfirmed). */
  get delivered(): boolean {
    return this.outbox.size === 0 && (this.session?.unconfirmed.size ?? 0) === 0;
  }

  /**
   * Delivers what is queued, reconnecting as needed, until `deadline` (epoch ms); then closes the
   * link. Resolves with the run ids whose results were not delivered.
   */
  async stop(deadline: number): Promise<string[]> {
    this.stopping = true;
    this.halfCloseWhenDrained();
    if (!this.delivered) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.deliveredWaiters.push(resolve);
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      });
      clearTimeout(timer);
    }
    const undelivered = [...this.outbox.resultsWaiting(), ...(this.session?.unconfirmed.results() ?? [])];
    this.stopped = true;
    this.interruptSleep?.();
    this.connecting?.close();
    this.session?.finish(undefined);
    await this.loop?.catch(() => {});
    return [...new Set(undelivered)];
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const address = this.pickAddress();
      const opened = performance.now();
      const outcome = await this.connect(address);
      if (this.stopped || (this.stopping && this.delivered)) return;
      const leader =
        outcome.status?.code === grpc.status.FAILED_PRECONDITION
          ? leaderFromDetails(outcome.status.details)
          : undefined;
      const healthy = outcome.received || performance.now() - opened >= HEALTHY_AFTER_MS;
      if (leader && this.redirects < MAX_FREE_REDIRECTS) {
        this.redirects++;
        this.leaderHint = leader;
        this.options.log.info(
          { from: address.target, to: leader },
          "scheduler redirected the worker to its leader",
        );
        continue;
      }
      if (leader) this.leaderHint = leader;
      this.redirects = 0;
      this.failures = healthy ? 1 : this.failures + 1;
      const { maxAttempts } = this.options.reconnect;
      if (maxAttempts > 0 && this.failures > maxAttempts) {
        throw new GaveUpError(
          `gave up after ${maxAttempts} failed connection attempts (MAX_RECONNECT_ATTEMPTS): is the scheduler at ${this.options.addresses.map((a) => a.target).join(", ")} up?`,
        );
      }
      const delayMs = Math.round(reconnectDelayMs(this.failures, this.options.reconnect));
      this.options.log.warn(
        {
          scheduler: address.target,
          ...(outcome.notReady ? { connect: outcome.notReady } : {}),
          code: outcome.status ? grpc.status[outcome.status.code] : undefined,
          details: outcome.status?.details,
          retryInMs: delayMs,
          pending: this.outbox.size,
        },
        outcome.notReady === "timeout"
          ? `no connection to the scheduler within ${this.options.connectTimeoutMs} ms (WORKER_CONNECT_TIMEOUT_SECONDS); retrying`
          : "scheduler stream ended; reconnecting",
      );
      await this.sleep(delayMs);
    }
  }

  private pickAddress(): SchedulerAddress {
    const { addresses } = this.options;
    const first = addresses[0];
    if (!first) throw new Error("no scheduler address configured");
    if (this.leaderHint) {
      const hint = this.leaderHint;
      this.leaderHint = undefined;
      return { target: hint, tls: first.tls };
    }
    const address = addresses[this.nextAddress % addresses.length] ?? first;
    this.nextAddress++;
    return address;
  }

  /** One stream: connect, registration, then the outbox, heartbeats and incoming messages until it ends. */
  private async connect(address: SchedulerAddress): Promise<SessionOutcome> {
    const { keepalive, connectTimeoutMs } = this.options;
    const client = new grpc.Client(
      address.target,
      address.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
      {
        "grpc.keepalive_time_ms": keepalive.timeMs,
        "grpc.keepalive_timeout_ms": keepalive.timeoutMs,
        "grpc.keepalive_permit_without_calls": 1,
        // Payload limits are the worker's own (WORKER_MAX_INPUT_BYTES): an oversized run_request is
        // answered with a failed result instead of breaking the stream it came on.
        "grpc.max_receive_message_length": -1,
        "grpc.max_send_message_length": -1,
        // Each attempt gets a connection of its own: a channel shared with an earlier attempt could
        // hand back a transport that is already dead.
        "grpc.use_local_subchannel_pool": 1,
      },
    );
    this.options.log.info({ scheduler: address.target, tls: address.tls }, "connecting to the scheduler");
    this.connecting = client;
    const notReady = await channelReady(client, Date.now() + connectTimeoutMs);
    this.connecting = undefined;
    if (notReady || this.stopped) {
      client.close();
      return { received: false, status: undefined, ...(notReady ? { notReady } : {}) };
    }
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${this.options.token()}`);
    const call: Call = client.makeBidiStreamRequest(
      CONNECT_WORKER_PATH,
      (bytes: Buffer) => bytes,
      decodeMessage,
      metadata,
    );
    return new Promise<SessionOutcome>((resolve) => {
      let received = false;
      const finish = (status: grpc.StatusObject | undefined) => {
        if (session.closed) return;
        // The scheduler ended the stream after our half-close: it read every message before it.
        if (session.halfClosed && status?.code === grpc.status.OK) session.unconfirmed.confirmAll();
        this.close(session);
        this.outbox.returnToFront(session.unconfirmed.takeAll());
        resolve({ received, status });
        this.notifyIfDelivered();
      };
      const session: Session = {
        call,
        client,
        closed: false,
        halfClosed: false,
        writable: true,
        unconfirmed: new UnconfirmedWrites(),
        resultsSent: new Set(),
        sweep: setInterval(() => this.confirm(session), Math.min(1000, this.confirmWindowMs / 4)),
        heartbeat: setInterval(() => {
          if (!session.closed && !session.halfClosed)
            call.write(encodeMessage(this.options.registration(true)));
        }, this.options.heartbeatMs),
        finish,
      };
      this.session = session;
      call.on("data", (message: WorkerSchedulerMessage__Output) => {
        received = true;
        this.failures = 0;
        session.unconfirmed.confirmWrittenBefore(performance.now() - this.roundTripBoundMs);
        this.options.onMessage(message);
      });
      call.on("error", () => {});
      call.on("status", (status: grpc.StatusObject) => finish(status));
      call.on("end", () => setImmediate(() => finish(undefined)));
      call.write(encodeMessage(this.options.registration(false)));
      this.pump(session);
    });
  }

  /** Writes queued messages on the stream, in order, while it takes them. */
  private pump(session: Session): void {
    while (!session.closed && !session.halfClosed && session.writable) {
      const message = this.outbox.take();
      if (!message) {
        this.outbox.whenAvailable(() => this.pump(session));
        this.halfCloseWhenDrained();
        return;
      }
      const write = message.delivery === "kept" ? session.unconfirmed.add(message) : undefined;
      if (message.resultOf !== undefined) this.rememberResult(session, message.resultOf);
      const accepted = session.call.write(message.bytes, () => {
        if (write) session.unconfirmed.written(write, performance.now());
        if (this.stopping) this.halfCloseWhenDrained();
      });
      if (!accepted) {
        session.writable = false;
        session.call.once("drain", () => {
          session.writable = true;
          this.pump(session);
        });
      }
    }
  }

  private rememberResult(session: Session, runId: string): void {
    session.resultsSent.delete(runId);
    session.resultsSent.add(runId);
    if (session.resultsSent.size > REMEMBERED_RESULTS) {
      const oldest = session.resultsSent.values().next().value;
      if (oldest !== undefined) session.resultsSent.delete(oldest);
    }
  }

  private confirm(session: Session): void {
    session.unconfirmed.confirm(performance.now(), this.confirmWindowMs);
    this.notifyIfDelivered();
  }

  /**
   * While stopping, once everything queued was written: half-closes the stream, so that the
   * scheduler ends it once it has read every message (which confirms them all).
   */
  private halfCloseWhenDrained(): void {
    const session = this.session;
    if (!this.stopping || !session || session.closed || session.halfClosed) return;
    if (this.outbox.size > 0 || !session.unconfirmed.allTaken) return;
    session.halfClosed = true;
    clearInterval(session.heartbeat);
    session.call.end();
  }

  private close(session: Session): void {
    session.closed = true;
    clearInterval(session.sweep);
    clearInterval(session.heartbeat);
    this.outbox.whenAvailable(undefined);
    if (this.session === session) this.session = undefined;
    session.call.cancel();
    session.client.close();
  }

  private notifyIfDelivered(): void {
    if (!this.delivered) return;
    const waiters = this.deliveredWaiters;
    this.deliveredWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.interruptSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
