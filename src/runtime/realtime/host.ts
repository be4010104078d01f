import { FatalError } from "../../contract/errors.js";
import type { EventSink } from "../../contract/events.js";
import type { Manifest, RealtimeManifestFunction } from "../../contract/manifest.js";
import type { ModelProvider } from "../../contract/model-lease.js";
import type { RealtimeOpenRequest, RealtimeTransport } from "../../contract/realtime.js";
import type { RuntimeSettings } from "../../settings/runtime.js";
import { withTimeout } from "../../util/with-timeout.js";
import type { HandlerTable } from "../executor.js";
import { RealtimeSession, type SessionEnd } from "./session.js";

export interface RealtimeHostOptions {
  manifest: Manifest;
  handlers: HandlerTable;
  settings: RuntimeSettings;
  /** Local output backend (dev runner). */
  outputsDir?: string;
  /** Receives every session's `ctx` events. */
  onEvent?: EventSink;
  /** Loads the models handlers inject; required when any realtime function injects one. */
  models?: ModelProvider;
  /** Told about every session once its handler has stopped (for logs). */
  onSessionEnd?: (end: SessionEnd) => void;
}

/** Why an open was refused; the peer has been sent the close already, but for `duplicate`. */
export type OpenRefusal = "unknown_function" | "draining" | "duplicate";

export type OpenOutcome = { session: RealtimeSession } | { refused: OpenRefusal };

/**
 * The realtime sessions of one manifest: opens them by function name or endpoint slug, routes frames
 * and closes by session id, and drains them at shutdown. Transport-free, like the executor.
 */
export class RealtimeHost {
  private readonly functions = new Map<string, RealtimeManifestFunction>();
  private readonly sessions = new Map<string, RealtimeSession>();
  private draining = false;

  constructor(private readonly options: RealtimeHostOptions) {
    for (const fn of options.manifest.realtime_functions ?? []) {
      if (typeof options.handlers[fn.export] !== "function") {
        throw new FatalError(
          `the manifest lists realtime function ${fn.name} as export "${fn.export}" of ${fn.module}, but the loaded module has no such function: rebuild the manifest (cozy-worker discover)`,
        );
      }
      if (fn.injection_json.length > 0 && !options.models) {
        throw new Error(
          `${fn.name} injects models, but this realtime host was built without a model provider`,
        );
      }
      this.functions.set(fn.name, fn);
      this.functions.set(fn.endpoint_name, fn);
    }
  }

  /** Realtime functions by manifest name, sorted. */
  functionNames(): string[] {
    return (this.options.manifest.realtime_functions ?? []).map((fn) => fn.name).sort();
  }

  /** The realtime function of this name or endpoint slug. */
  find(functionName: string): RealtimeManifestFunction | undefined {
    return this.functions.get(functionName);
  }

  /** Sessions whose handlers have not stopped yet. */
  get active(): number {
    return this.sessions.size;
  }

  /**
   * Opens a session and starts its handler. An unknown function is closed with `unknown_function`,
   * an open during a drain with `draining`; a session id already open is refused without a close (the
   * close would end the session that has it).
   */
  open(request: RealtimeOpenRequest, transport: RealtimeTransport): OpenOutcome {
    const fn = this.functions.get(request.functionName);
    if (!fn) {
      transport.close("unknown_function");
      return { refused: "unknown_function" };
    }
    if (this.sessions.has(request.sessionId)) return { refused: "duplicate" };
    if (this.draining) {
      transport.close("draining");
      return { refused: "draining" };
    }
    const { manifest, handlers, settings, outputsDir, onEvent, models } = this.options;
    const session = new RealtimeSession({
      fn,
      handler: handlers[fn.export] as (...args: unknown[]) => unknown,
      request,
      transport,
      settings,
      keyspace: manifest.models_by_function?.[fn.name] ?? {},
      ...(models ? { models } : {}),
      ...(outputsDir ? { outputsDir } : {}),
      ...(onEvent ? { onEvent } : {}),
    });
    this.sessions.set(request.sessionId, session);
    void session.ended.then((end) => {
      if (this.sessions.get(request.sessionId) === session) this.sessions.delete(request.sessionId);
      try {
        this.options.onSessionEnd?.(end);
      } catch {
        // A listener's failure is not the session's.
      }
    });
    session.start();
    return { session };
  }

  /** Routes an inbound frame; false for a session id that is not open (the frame is ignored). */
  frame(sessionId: string, data: Uint8Array): boolean {
    const session = this.sessions.get(sessionId);
    if (!session) return false;
    session.frame(data);
    return true;
  }

  /** The peer closed a session; false for a session id that is not open. */
  peerClosed(sessionId: string): boolean {
    const session = this.sessions.get(sessionId);
    if (!session) return false;
    session.peerClosed();
    return true;
  }

  /**
   * Opens no more sessions, waits up to `timeoutMs` for those open to end, then cancels the rest
   * (`error:CanceledError`) and waits up to `timeoutMs` again for their handlers to stop.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const ended = () => Promise.allSettled([...this.sessions.values()].map((session) => session.ended));
    await withTimeout(ended(), timeoutMs);
    for (const session of this.sessions.values()) session.cancel("the worker is shutting down");
    await withTimeout(ended(), timeoutMs);
  }
}
