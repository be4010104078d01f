/**
 * Realtime sessions, whatever transport brings them: the scheduler's `realtime_open_cmd`,
 * `realtime_frame` and `realtime_close_cmd` on the gRPC stream, or a WebSocket of the dev runner.
 */

/** One session to open: `realtime_open_cmd`'s fields. */
export interface RealtimeOpenRequest {
  /** Also the context's run id. */
  sessionId: string;
  /** The function's name or its endpoint slug. */
  functionName: string;
  /**
   * `required_variant_refs`: entry i binds the handler's i-th model, as a model ref or a key of its
   * keyspace. Undefined (the dev runner) binds each model by the key its parameter names.
   */
  requiredModels?: readonly string[];
  owner?: string;
  userId?: string;
  /** 0 or unset: no deadline. */
  timeoutMs?: number;
  fileBaseUrl?: string;
  fileToken?: string;
}

/** One frame either way: `isText` for a text frame (its UTF-8 bytes), else binary. */
export interface RealtimeFrameData {
  data: Uint8Array;
  isText: boolean;
}

/** How a session reaches its peer (the scheduler, or the dev runner's WebSocket client). */
export interface RealtimeTransport {
  /** One frame to the peer: `isText` for a text frame (UTF-8), else binary. */
  sendFrame(data: Uint8Array, isText: boolean): void;
  /** Ends the session toward the peer. Called at most once, and never after the peer closed it. */
  close(reason: RealtimeCloseReason): void;
  /**
   * Flow control, when the transport has it (a WebSocket): called when the inbound queue is full, so
   * that the peer stops sending until {@link resume}. Without it a full queue closes the session
   * with `overflow`.
   */
  pause?(): void;
  resume?(): void;
}

/**
 * Why a session ended, as `realtime_close_cmd.reason` carries it. The first five are the Python
 * SDK's (gen-worker 0.2.1); `overflow` and `draining` are gen-worker's.
 */
export type RealtimeCloseReason =
  /** The handler returned. */
  | "completed"
  /** The handler called `socket.close()`. */
  | "closed"
  /** The handler threw (or the session was canceled: `error:CanceledError`), by the error's class. */
  | `error:${string}`
  /** No realtime function of that name. */
  | "unknown_function"
  /** An inbound frame over `WORKER_MAX_WS_FRAME_BYTES`. */
  | "frame_too_large"
  /** Inbound frames came faster than the handler read them, past the session's queue. */
  | "overflow"
  /** The worker is shutting down and opens no new sessions. */
  | "draining";

/** The inbound queue of a session holds this many frames' worth of `WORKER_MAX_WS_FRAME_BYTES`. */
export const REALTIME_QUEUE_FRAMES = 16;
