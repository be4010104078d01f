import { CanceledError, ValidationError } from "../../contract/errors.js";
import type { EventSink, RunEvent } from "../../contract/events.js";
import type { RealtimeManifestFunction } from "../../contract/manifest.js";
import type { ModelProvider } from "../../contract/model-lease.js";
import { canonicalizeModelRef } from "../../contract/model-ref.js";
import type { ModelSpec } from "../../contract/model-spec.js";
import {
  REALTIME_QUEUE_FRAMES,
  type RealtimeCloseReason,
  type RealtimeOpenRequest,
  type RealtimeTransport,
} from "../../contract/realtime.js";
import type { RunFailure } from "../../contract/task.js";
import type { RuntimeSettings } from "../../settings/runtime.js";
import { Cancellation, startTimer } from "../cancellation.js";
import { RunContext } from "../context.js";
import { describeFailure } from "../error-mapping.js";
import { resolveFileApi } from "../files/file-api.js";
import { runIdProblem } from "../files/output-ref.js";
import { LocalOutputStore, type OutputStore, RemoteOutputStore } from "../files/output-store.js";
import { FrameQueue } from "./frame-queue.js";
import { bindSessionModels, type SessionModels } from "./model-binding.js";
import { SessionSocket, type SocketSession } from "./socket.js";

export interface RealtimeSessionOptions {
  fn: RealtimeManifestFunction;
  handler: (...args: unknown[]) => unknown;
  request: RealtimeOpenRequest;
  transport: RealtimeTransport;
  settings: RuntimeSettings;
  /** The function's keyspace (the manifest's `models_by_function[fn.name]`). */
  keyspace: Readonly<Record<string, ModelSpec>>;
  models?: ModelProvider;
  /** Local output backend (dev runner): saves go to `<outputsDir>/runs/<session_id>/outputs/`. */
  outputsDir?: string;
  /** Receives the session's `ctx.progress`, `ctx.log` and `ctx.emit` events (run id = session id). */
  onEvent?: EventSink;
}

/** How a session ended, once its handler has stopped (for logs). */
export interface SessionEnd {
  sessionId: string;
  functionName: string;
  reason: RealtimeCloseReason;
  /** `peer`: the scheduler or client closed it, and nothing was sent; `worker`: `reason` was sent. */
  closedBy: "peer" | "worker";
  /** What failed, for `error:*` reasons. */
  failure?: RunFailure;
  durationMs: number;
}

interface Closing {
  reason: RealtimeCloseReason;
  /** Tell the peer (false when the peer closed it). */
  send: boolean;
  /** Aborts `ctx.signal` with this. */
  abort?: CanceledError;
  /** Frames still queued are dropped instead of read. */
  discardFrames: boolean;
  failure?: RunFailure;
}

/**
 * One realtime session: binds its models, runs the handler with `(ctx, socket, ...models)`, feeds it
 * the inbound frames and closes exactly once, by whichever side comes first. Transport-free: the gRPC
 * worker and the dev runner's WebSocket each give it a {@link RealtimeTransport}.
 */
export class RealtimeSession implements SocketSession {
  readonly sessionId: string;
  readonly maxFrameBytes: number;
  /** Resolves once the handler has stopped and the models are released. */
  readonly ended: Promise<SessionEnd>;
  private readonly cancellation = new Cancellation();
  private readonly inbound: FrameQueue;
  private closing: Closing | undefined;
  private paused = false;
  private started = false;
  private finish: (end: SessionEnd) => void = () => {};

  constructor(private readonly options: RealtimeSessionOptions) {
    this.sessionId = options.request.sessionId;
    this.maxFrameBytes = options.settings.maxWsFrameBytes;
    this.inbound = new FrameQueue(REALTIME_QUEUE_FRAMES * this.maxFrameBytes, () => this.resumePeer());
    this.ended = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  get functionName(): string {
    return this.options.fn.name;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** Binds the models and runs the handler; the session closes when it ends. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.run();
  }

  /** An inbound frame (`is_text` does not matter: every frame reaches the handler as bytes). */
  frame(data: Uint8Array): void {
    if (this.closing) return;
    if (data.byteLength > this.maxFrameBytes) {
      this.frameTooLarge(data.byteLength);
      return;
    }
    if (this.inbound.push(plainBytes(data))) return;
    const { transport } = this.options;
    if (transport.pause) {
      if (!this.paused) {
        this.paused = true;
        transport.pause();
      }
      return;
    }
    this.close({
      reason: "overflow",
      send: true,
      abort: new CanceledError(
        `inbound frames outran the handler: more than ${this.inbound.bytes} bytes waited to be read`,
      ),
      discardFrames: true,
    });
  }

  /** An inbound frame over `WORKER_MAX_WS_FRAME_BYTES` (of `byteLength` bytes, when known): `frame_too_large`. */
  frameTooLarge(byteLength?: number): void {
    const size = byteLength === undefined ? "an inbound frame" : `an inbound frame of ${byteLength} bytes`;
    this.close({
      reason: "frame_too_large",
      send: true,
      abort: new CanceledError(`${size} is over WORKER_MAX_WS_FRAME_BYTES (${this.maxFrameBytes})`),
      discardFrames: true,
    });
  }

  /** The peer (scheduler or client) closed the session: the handler's signal aborts, iteration ends. */
  peerClosed(): void {
    this.close({
      reason: "closed",
      send: false,
      abort: new CanceledError("the client closed the realtime session"),
      discardFrames: false,
    });
  }

  /** The worker ends the session (a deadline, a shutdown): `error:CanceledError` goes to the peer. */
  cancel(message: string): void {
    const reason = new CanceledError(message);
    this.close({
      reason: "error:CanceledError",
      send: true,
      abort: reason,
      discardFrames: true,
      failure: describeFailure(reason),
    });
  }

  sendFrame(data: Uint8Array, isText: boolean): void {
    if (!this.closing) this.options.transport.sendFrame(data, isText);
  }

  closeByHandler(): void {
    this.close({ reason: "closed", send: true, discardFrames: true });
  }

  private async run(): Promise<void> {
    const started = performance.now();
    const { request, fn } = this.options;
    const timeoutMs = request.timeoutMs ?? 0;
    const stopTimer =
      timeoutMs > 0 && Number.isFinite(timeoutMs)
        ? startTimer(timeoutMs, () => this.cancel(`the realtime session timed out after ${timeoutMs} ms`))
        : undefined;
    let models: SessionModels | undefined;
    let handlerWork: Promise<unknown> = Promise.resolve();
    try {
      const badId = runIdProblem(this.sessionId);
      if (badId) throw new ValidationError(`invalid session id: ${badId.replace("run_id", "session_id")}`);
      models = bindSessionModels(fn, this.options.keyspace, request.requiredModels, this.options.models, {
        id: this.sessionId,
        signal: this.cancellation.signal,
      });
      const injected = await this.cancellation.race(models.load());
      // Closed while the models loaded: the handler never starts.
      if (this.cancellation.reason) throw this.cancellation.reason;
      const ctx = this.context(timeoutMs);
      const socket = new SessionSocket(this, this.inbound);
      handlerWork = invoke(this.options.handler, [ctx, socket, ...injected]);
      await handlerWork;
      this.close({ reason: "completed", send: true, discardFrames: true });
    } catch (error) {
      const reason = errorReason(error);
      const message = error instanceof Error ? error.message : String(error);
      // Named by class as the reason is, for the log (`class MyError extends Error {}` has the name "Error").
      const failure = {
        ...describeFailure(error),
        errorMessage: `${reason.slice("error:".length)}: ${message}`,
      };
      this.close({ reason, send: true, discardFrames: true, failure });
    } finally {
      stopTimer?.();
      // The models stay pinned until the handler has really stopped, even after a cancel.
      await handlerWork.catch(() => {});
      models?.release();
      if (this.paused) this.options.transport.resume?.();
    }
    const closing = this.closing as Closing;
    this.finish({
      sessionId: this.sessionId,
      functionName: fn.name,
      reason: closing.reason,
      closedBy: closing.send ? "worker" : "peer",
      ...(closing.failure ? { failure: closing.failure } : {}),
      durationMs: performance.now() - started,
    });
  }

  private close(closing: Closing): void {
    if (this.closing) return;
    this.closing = closing;
    this.inbound.end(closing.discardFrames);
    if (closing.send) {
      try {
        this.options.transport.close(closing.reason);
      } catch {
        // A transport that is gone already has nothing to tell.
      }
    }
    if (closing.abort) this.cancellation.abort(closing.abort);
  }

  private resumePeer(): void {
    if (!this.paused) return;
    this.paused = false;
    this.options.transport.resume?.();
  }

  private context(timeoutMs: number): RunContext {
    const { request, settings, onEvent } = this.options;
    let outputs: OutputStore | undefined | null = null;
    return new RunContext({
      runId: this.sessionId,
      owner: request.owner ?? "",
      userId: request.userId ?? "",
      cancellation: this.cancellation,
      deadline: timeoutMs > 0 && Number.isFinite(timeoutMs) ? Date.now() + timeoutMs : null,
      requiredModels: Object.freeze((request.requiredModels ?? []).map(canonicalizeModelRef)),
      send: (event: RunEvent) => {
        try {
          onEvent?.(event);
        } catch {
          // Events are best-effort.
        }
      },
      outputs: () => {
        if (outputs === null) outputs = this.outputStore();
        return outputs;
      },
      maxOutputFileBytes: settings.maxOutputFileBytes,
    });
  }

  private outputStore(): OutputStore | undefined {
    const { outputsDir, settings, request } = this.options;
    const common = {
      runId: this.sessionId,
      owner: request.owner || null,
      maxFileBytes: settings.maxOutputFileBytes,
    };
    if (outputsDir) return new LocalOutputStore({ outputsDir, ...common });
    const api = resolveFileApi(request, settings.fileApi);
    return api ? new RemoteOutputStore({ api, ...common }) : undefined;
  }
}

/**
 * `error:<ErrorClass>`, as the Python SDK wrote `error:{type(exc).__name__}`: the error's name when
 * it has its own (`TypeError`, `CanceledError`), else its class's (`class MyError extends Error {}`).
 */
export function errorReason(error: unknown): RealtimeCloseReason {
  let name = "Error";
  if (error instanceof Error) {
    const own = error.name;
    const ctor = error.constructor?.name;
    name = own && own !== "Error" ? own : ctor || "Error";
  } else if (error !== null && typeof error === "object") {
    name = (error as object).constructor?.name || "Error";
  }
  const safe = name.replace(/[^\w$.]/g, "").slice(0, 100);
  return `error:${safe || "Error"}`;
}

/** A frame as a plain Uint8Array view (a Buffer's methods are not part of the socket's contract). */
function plainBytes(data: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(data) === Uint8Array.prototype
    ? data
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Calls the handler; a synchronous throw becomes a rejection like an async one. */
function invoke(handler: (...args: unknown[]) => unknown, args: unknown[]): Promise<unknown> {
  try {
    return Promise.resolve(handler(...args));
  } catch (error) {
    return Promise.reject(error);
  }
}
