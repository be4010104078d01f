/**
 * The types a handler is written against: its context, input files and injected models. Only types:
 * a tenant's `import type` of them costs nothing at run time.
 */

import type { InferenceSession } from "onnxruntime-common";

/**
 * A number that must be a whole number. In a payload or output type it becomes
 * `"type": "integer"` in the JSON Schema (the same as the `@integer` JSDoc tag).
 */
export type Integer = number & { readonly "~integer"?: never };

/** A log level accepted by {@link ActionContext.log}. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/**
 * A file: an input named by a payload field (materialized on local disk before the handler
 * runs) or an output saved through {@link ActionContext.saveBytes}.
 *
 * On the wire an asset is `{"ref": "...", "owner"?, "local_path"?, "mime_type"?, "size_bytes"?, "sha256"?}`;
 * `ref` is an `http(s)://` URL or a Cozy file ref such as `runs/<run_id>/outputs/image.png`.
 */
export interface Asset {
  readonly ref: string;
  readonly owner?: string | null;
  /** Where the file lies on this machine, once materialized. */
  readonly localPath?: string | null;
  readonly mimeType?: string | null;
  readonly sizeBytes?: number | null;
  /** Hex sha256 of the content, when known. */
  readonly sha256?: string | null;
  /** Reads the whole file; refuses files larger than `maxBytes` when given. */
  readBytes(maxBytes?: number): Promise<Uint8Array>;
  /** Whether the file is on local disk. */
  exists(): Promise<boolean>;
}

/**
 * What a handler receives as its first parameter: the run's identity, cancellation, progress,
 * logs, custom events and file outputs.
 */
export interface ActionContext {
  readonly runId: string;
  /** The tenant that owns the run; empty when unknown. */
  readonly owner: string;
  /** The end user who asked for the run; empty when unknown. */
  readonly userId: string;
  /** Aborted when the run is canceled or its deadline passes. Pass it to fetch, timers and loops. */
  readonly signal: AbortSignal;
  /** Epoch milliseconds after which the run is canceled, or null without a timeout. */
  readonly deadline: number | null;
  /** Canonical refs of the models the scheduler says this run needs. */
  readonly requiredModels: readonly string[];
  isCanceled(): boolean;
  /** Throws {@link CanceledError} when the run was canceled; call it between steps of long work. */
  throwIfCanceled(): void;
  /** Milliseconds until the deadline (never negative), or null without a timeout. */
  timeRemainingMs(): number | null;
  /** Reports progress as a fraction from 0 to 1, with an optional stage name. */
  progress(fraction: number, stage?: string): void;
  log(message: string, level?: LogLevel): void;
  /** Sends a custom event of the given type with a JSON payload. */
  emit(type: string, payload?: Record<string, unknown>): void;
  /** Saves bytes under `runs/<runId>/outputs/...`, replacing any file there. */
  saveBytes(ref: string, data: Uint8Array): Promise<Asset>;
  /** Saves a local file under `runs/<runId>/outputs/...`, replacing any file there. */
  saveFile(ref: string, path: string): Promise<Asset>;
  /** Like {@link ActionContext.saveBytes}, but fails when the ref already exists. */
  saveBytesCreate(ref: string, data: Uint8Array): Promise<Asset>;
  /** Like {@link ActionContext.saveFile}, but fails when the ref already exists. */
  saveFileCreate(ref: string, path: string): Promise<Asset>;
}

/**
 * A model injected into a handler, fixed by its key in cozy.toml `[models]`
 * (or `[endpoints.<endpoint>.models]`): `det: Model<"ocr-det">`.
 *
 * Before the handler runs, the model's files are on local disk and one ONNX Runtime session per
 * `.onnx` graph is loaded. The model stays loaded (pinned) until the run ends, so the sessions are
 * safe to use for the whole run; keep no reference to them after it.
 */
export interface Model<K extends string = string> {
  /** The key from cozy.toml. */
  readonly key: K;
  /** The canonical model ref the key resolved to, such as `hf:owner/repo` or `hf:owner/repo@rev`. */
  readonly ref: string;
  /** The local folder holding the model's files (a snapshot of the repo at one commit). */
  readonly path: string;
  /**
   * The primary graph's session: the only graph; else the one whose base name is `model`
   * (`model.onnx`, `onnx/model.onnx`) when exactly one is; else the first by sorted graph name.
   */
  readonly session: InferenceSession;
  /**
   * Every graph's session, by graph name: the `.onnx` file's path inside the model folder without
   * `.onnx` and without its dtype suffix, e.g. `onnx/model` for `onnx/model_fp16.onnx`, or
   * `text_encoder/model`. There are no short aliases: a base name alone can be ambiguous.
   */
  readonly sessions: Readonly<Record<string, InferenceSession>>;
  /** The absolute path of a file of the model, given relative to its folder; `..` is refused. */
  file(relativePath: string): string;
}

/**
 * A model chosen per run by a string field of the payload, whose value must be a key of the
 * endpoint's keyspace: `model: PayloadModel<"model">` with `interface Input { model: string }`.
 * Raw model refs in the payload are never accepted.
 */
export interface PayloadModel<F extends string = string> extends Model {
  /** The payload field that picked the model. */
  readonly field: F;
}

/**
 * The second parameter of a realtime handler, `(ctx: ActionContext, socket: RealtimeSocket, ...models)`:
 * one bidirectional session of frames with a client, through the scheduler (a `realtime_open_cmd`) or
 * the dev runner's WebSocket (`/v1/realtime/<endpoint>`).
 *
 * ```ts
 * export async function echo(ctx: ActionContext, socket: RealtimeSocket): Promise<void> {
 *   for await (const frame of socket) socket.send(frame);
 * }
 * ```
 *
 * Iterating yields every inbound frame as bytes, in order (text frames arrive as their UTF-8 bytes:
 * `new TextDecoder().decode(frame)`); it ends when the session closes, from either side. Leaving a
 * `for await` loop early does not close the session. The handler's end closes it (`completed`, or
 * `error:<ErrorClass>` when it throws). When the client closes, `ctx.signal` aborts.
 */
export interface RealtimeSocket extends AsyncIterable<Uint8Array> {
  /** The session's id, also `ctx.runId`. */
  readonly sessionId: string;
  /** Whether the session is closed, by either side; sends are then ignored. */
  readonly closed: boolean;
  /**
   * Sends one frame: bytes as a binary frame, a string as a text frame (UTF-8). Ignored once the
   * session is closed. Throws a `RangeError` for a frame over `WORKER_MAX_WS_FRAME_BYTES`.
   */
  send(data: Uint8Array | string): void;
  /** Sends a value as one compact JSON text frame. */
  sendJson(value: unknown): void;
  /** Closes the session with the reason `closed`; iteration ends. Safe to call more than once. */
  close(): void;
}
