import * as grpc from "@grpc/grpc-js";
import { UserError } from "../../contract/user-errors.js";
import type { Logger } from "../../host/logger.js";
import { leaderFromDetails, type SchedulerAddress } from "../../settings/scheduler-address.js";
import type { ReconnectPolicy } from "../../settings/worker.js";
import { withTimeout } from "../../util/with-timeout.js";
import { reconnectDelayMs } from "./backoff.js";
import { Outbox, type OutboxEntry } from "./outbox.js";
import {
  SchedulerWorkerServiceClient,
  type WorkerSchedulerMessage,
  type WorkerSchedulerMessage__Output,
} from "./proto.js";

export interface SchedulerConnectionOptions {
  addresses: readonly SchedulerAddress[];
  /** The token for the next connect (rotation takes effect on the next stream). */
  token(): string;
  reconnect: ReconnectPolicy;
  heartbeatMs: number;
  outboxLimit: number;
  /** A registration envelope, first on every stream and then as the heartbeat. */
  registration(isHeartbeat: boolean): WorkerSchedulerMessage;
  onMessage(message: WorkerSchedulerMessage__Output): void;
  log: Logger;
}

/** A stream that lived this long, or brought a message, was healthy: the backoff starts over. */
const HEALTHY_AFTER_MS = 5_000;
/** How long a closing stream waits for the scheduler to end it before cancelling. */
const CLOSE_GRACE_MS = 2_000;
/** Redirects in a row after which a redirect counts as a failure (two schedulers pointing at each other). */
const MAX_FREE_REDIRECTS = 3;

type Entry = OutboxEntry<WorkerSchedulerMessage>;

interface Session {
  call: grpc.ClientDuplexStream<WorkerSchedulerMessage, WorkerSchedulerMessage__Output>;
  client: grpc.Client;
  closed: boolean;
  /** Resolves when the stream has ended. */
  ended: Promise<void>;
}

interface SessionOutcome {
  received: boolean;
  status: grpc.StatusObject | undefined;
}

/** MAX_RECONNECT_ATTEMPTS connections in a row failed. */
export class GaveUpError extends UserError {}

/**
 * The worker's link to the scheduler: one `ConnectWorker` stream at a time, re-dialled with
 * exponential backoff and jitter after every failure (a stream that breaks right after opening
 * included), `not_leader:<addr>` redirects followed, and an outbox so that nothing produced
 * while the link is down is lost: messages leave the outbox only when a stream has taken them,
 * and those a breaking stream had not confirmed go out again on the next one.
 */
export class SchedulerConnection {
  private readonly outbox: Outbox<WorkerSchedulerMessage>;
  private inflight: Entry[] = [];
  private session: Session | undefined;
  private stopped = false;
  private failures = 0;
  private redirects = 0;
  private nextAddress = 0;
  private leaderHint: string | undefined;
  private interruptSleep: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private deliveredWaiters: (() => void)[] = [];

  constructor(private readonly options: SchedulerConnectionOptions) {
    this.outbox = new Outbox(options.outboxLimit);
  }

  /** Runs until {@link stop}; rejects with {@link GaveUpError} after MAX_RECONNECT_ATTEMPTS failures. */
  start(): Promise<void> {
    this.loop ??= this.run();
    return this.loop;
  }

  /** Queues a message; `droppable` ones may be discarded in a long outage, never results. */
  send(message: WorkerSchedulerMessage, options: { droppable?: boolean; key?: string } = {}): void {
    this.outbox.push({
      message,
      droppable: options.droppable ?? false,
      ...(options.key ? { key: options.key } : {}),
    });
  }

  /** Whether a message sent with this key has not yet been taken by a stream. */
  isPending(key: string): boolean {
    return this.outbox.has(key) || this.inflight.some((entry) => entry.key === key);
  }

  /** Sends a registration now on the open stream (after a change the scheduler should hear of). */
  sendRegistration(): void {
    const session = this.session;
    if (session && !session.closed) session.call.write(this.options.registration(true));
  }

  /** Whether every queued message has been taken by a stream. */
  get delivered(): boolean {
    return this.outbox.size === 0 && this.inflight.length === 0;
  }

  /** Waits (up to `flushTimeoutMs`) until everything queued is delivered, then closes the link. */
  async stop(flushTimeoutMs: number): Promise<void> {
    if (!this.delivered) {
      await withTimeout(new Promise<void>((resolve) => this.deliveredWaiters.push(resolve)), flushTimeoutMs);
    }
    if (!this.delivered) {
      this.options.log.warn(
        { undelivered: this.outbox.size + this.inflight.length },
        "stopping with messages the scheduler has not received",
      );
    }
    this.stopped = true;
    this.interruptSleep?.();
    const session = this.session;
    if (session) {
      // Half-close and let the scheduler finish reading before the stream is torn down: a cancel
      // right away can make it discard the last results it has not processed yet.
      session.call.end();
      await withTimeout(session.ended, CLOSE_GRACE_MS);
      session.call.cancel();
    }
    await this.loop?.catch(() => {});
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const address = this.pickAddress();
      const opened = performance.now();
      const outcome = await this.connect(address);
      if (this.stopped) return;
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
          code: outcome.status ? grpc.status[outcome.status.code] : undefined,
          details: outcome.status?.details,
          retryInMs: delayMs,
          pending: this.outbox.size,
        },
        "scheduler stream ended; reconnecting",
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

  /** One stream: registration, then the outbox, heartbeats and incoming messages until it ends. */
  private connect(address: SchedulerAddress): Promise<SessionOutcome> {
    const credentials = address.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    const client = new SchedulerWorkerServiceClient(address.target, credentials);
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${this.options.token()}`);
    const call = client.ConnectWorker(metadata);
    let markEnded: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      markEnded = resolve;
    });
    const session: Session = { call, client, closed: false, ended };
    this.session = session;
    this.options.log.info({ scheduler: address.target, tls: address.tls }, "connecting to the scheduler");

    return new Promise<SessionOutcome>((resolve) => {
      let received = false;
      const heartbeat = setInterval(() => {
        if (!session.closed) call.write(this.options.registration(true));
      }, this.options.heartbeatMs);
      const finish = (status: grpc.StatusObject | undefined) => {
        if (session.closed) return;
        session.closed = true;
        clearInterval(heartbeat);
        this.outbox.returnToFront(this.inflight);
        this.inflight = [];
        if (this.session === session) this.session = undefined;
        client.close();
        markEnded();
        resolve({ received, status });
      };
      call.on("data", (message: WorkerSchedulerMessage__Output) => {
        received = true;
        this.failures = 0;
        this.options.onMessage(message);
      });
      call.on("error", () => {});
      call.on("status", (status: grpc.StatusObject) => finish(status));
      call.on("end", () => setImmediate(() => finish(undefined)));
      call.write(this.options.registration(false));
      void this.pump(session);
    });
  }

  /** Writes outbox messages to the session's stream, in order, while it is open. */
  private async pump(session: Session): Promise<void> {
    while (!session.closed) {
      const entry = this.outbox.take();
      if (!entry) {
        this.notifyIfDelivered();
        await Promise.race([this.outbox.whenNotEmpty(), session.ended]);
        continue;
      }
      this.inflight.push(entry);
      const accepted = session.call.write(entry.message, (error: Error | null | undefined) => {
        if (session.closed || error) return;
        const index = this.inflight.indexOf(entry);
        if (index >= 0) this.inflight.splice(index, 1);
        this.notifyIfDelivered();
      });
      if (!accepted) {
        await Promise.race([
          new Promise<void>((resolve) => session.call.once("drain", () => resolve())),
          session.ended,
        ]);
      }
    }
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
