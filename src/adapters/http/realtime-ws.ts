/**
 * The dev runner's realtime endpoint: a WebSocket per session at `/v1/realtime/{endpoint}`, on the
 * runner's own node:http server (its `upgrade` event). Frames go both ways as WebSocket messages; the
 * session's close reason is the WebSocket close reason. The sessions are the runtime's
 * ({@link RealtimeHost}), the same code the production worker drives from the scheduler stream.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import type { RealtimeCloseReason, RealtimeOpenRequest, RealtimeTransport } from "../../contract/realtime.js";
import type { RealtimeHost } from "../../runtime/realtime/host.js";
import type { RealtimeSession } from "../../runtime/realtime/session.js";

/** The path prefix of realtime endpoints. */
export const REALTIME_PATH = "/v1/realtime/";
/** The upgrade response header that names the session (also `ctx.runId`). */
export const SESSION_HEADER = "x-cozy-session-id";

export interface DevRealtimeOptions {
  /** The realtime host of the current code (it changes when `--watch` reloads). */
  host(): RealtimeHost;
  /** `WORKER_MAX_WS_FRAME_BYTES`: a larger inbound frame closes the session with `frame_too_large`. */
  maxFrameBytes: number;
}

export interface DevRealtime {
  /** Sessions whose WebSocket is still open. */
  readonly open: number;
  /** Drops every WebSocket at once (shutdown, after the sessions were drained). */
  terminateAll(): void;
}

/**
 * The WebSocket close code of a session's reason: 1000 for a normal end, 1009 for a frame over the
 * limit, 1008 for a refused session or an overrun, 1001 for a shutdown, 1011 for a handler error.
 */
export function closeCodeOf(reason: RealtimeCloseReason): number {
  if (reason === "completed" || reason === "closed") return 1000;
  if (reason === "frame_too_large") return 1009;
  if (reason === "draining") return 1001;
  if (reason.startsWith("error:")) return 1011;
  return 1008;
}

/** Serves `/v1/realtime/{endpoint}` on `server`; other upgrade requests are answered 404. */
export function attachRealtime(server: Server, options: DevRealtimeOptions): DevRealtime {
  // Frames a little over the limit reach the session, which closes with `frame_too_large` and says so;
  // ws itself refuses larger ones (close code 1009 without a reason) without buffering them.
  const maxPayload = Math.min(2 * options.maxFrameBytes, 2 ** 31);
  const wss = new WebSocketServer({ noServer: true, maxPayload });
  const sessionIds = new WeakMap<IncomingMessage, string>();
  wss.on("headers", (headers, req) => {
    const id = sessionIds.get(req);
    if (id !== undefined) headers.push(`${SESSION_HEADER}: ${id}`);
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://runner");
    if (!url.pathname.startsWith(REALTIME_PATH) || url.pathname.length === REALTIME_PATH.length) {
      refuseUpgrade(socket, 404, `no WebSocket route ${url.pathname}: use ${REALTIME_PATH}{endpoint}`);
      return;
    }
    let request: RealtimeOpenRequest;
    try {
      request = openRequest(url);
    } catch (error) {
      refuseUpgrade(socket, 400, (error as Error).message);
      return;
    }
    sessionIds.set(req, request.sessionId);
    const host = options.host();
    wss.handleUpgrade(req, socket, head, (ws) => serveSession(ws, host, request));
  });
  return {
    get open() {
      return wss.clients.size;
    },
    terminateAll() {
      for (const ws of wss.clients) ws.terminate();
    },
  };
}

/** `?session_id=`, `timeout_ms`, `owner`, `user_id`, and `required_model` (repeatable, in parameter order). */
function openRequest(url: URL): RealtimeOpenRequest {
  const endpoint = decodeURIComponent(url.pathname.slice(REALTIME_PATH.length));
  const query = url.searchParams;
  const timeout = query.get("timeout_ms");
  const timeoutMs = timeout === null ? 0 : Number(timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new Error(`timeout_ms must be a number of milliseconds, got "${timeout}"`);
  }
  const models = query.getAll("required_model");
  return {
    sessionId: query.get("session_id") || randomUUID(),
    functionName: endpoint,
    timeoutMs,
    owner: query.get("owner") ?? "",
    userId: query.get("user_id") ?? "",
    ...(models.length > 0 ? { requiredModels: models } : {}),
  };
}

function serveSession(ws: WebSocket, host: RealtimeHost, request: RealtimeOpenRequest): void {
  let session: RealtimeSession | undefined;
  const transport: RealtimeTransport = {
    // A copy: the handler may reuse its buffer while ws still holds the frame.
    sendFrame: (data, isText) => ws.send(Buffer.from(data), { binary: !isText }),
    close: (reason) => ws.close(closeCodeOf(reason), reason),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  };
  ws.on("message", (data: RawData) => session?.frame(asBytes(data)));
  ws.on("close", () => session?.peerClosed());
  ws.on("error", (error: Error & { code?: string }) => {
    // ws refused a frame over its maxPayload and is closing with 1009.
    if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") session?.frameTooLarge();
  });
  const outcome = host.open(request, transport);
  if ("refused" in outcome) {
    if (outcome.refused === "duplicate") ws.close(1008, "duplicate session_id");
    return;
  }
  session = outcome.session;
}

function asBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: status === 404 ? "not_found" : "bad_request", message });
  const reason = status === 404 ? "Not Found" : "Bad Request";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
