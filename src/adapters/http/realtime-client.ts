/** `cozy-worker invoke --realtime`'s client of the dev runner's WebSocket endpoint (`ws`). */
import type { IncomingMessage } from "node:http";
import { type RawData, WebSocket } from "ws";
import type { RealtimeFrameData } from "../../contract/realtime.js";
import { RunnerRequestError, RunnerUnreachableError } from "./client.js";
import { REALTIME_PATH, SESSION_HEADER } from "./realtime-ws.js";

/** How a session ended. */
export interface SessionOutcome {
  sessionId: string;
  /** The close reason: `completed`, `closed`, `error:<Class>`, `unknown_function`, ... */
  reason: string;
  /** The WebSocket close code. */
  code: number;
  /** `client`: this side closed it (its input ended and the session lingered, or it was interrupted). */
  closedBy: "worker" | "client";
}

export interface DevRunnerSessionOptions {
  baseUrl: string;
  endpoint: string;
  /** `session_id`, `timeout_ms`, `owner`, `user_id`, `required_model` (repeatable). */
  query?: Record<string, string | readonly string[]>;
  /** The frames to send, in order. */
  input: AsyncIterable<RealtimeFrameData>;
  /** Once the input has ended, how long to wait for the worker to end the session before closing it. */
  lingerMs: number;
  onOpen?(sessionId: string): void;
  onFrame(frame: RealtimeFrameData): void;
  /** Aborting it closes the session from this side. */
  signal?: AbortSignal;
}

/** Opens a session on a dev runner, sends the input's frames and reports every frame until it closes. */
export function runDevRunnerSession(options: DevRunnerSessionOptions): Promise<SessionOutcome> {
  const url = sessionUrl(options);
  const ws = new WebSocket(url);
  let sessionId = "";
  let closedByClient = false;
  let linger: NodeJS.Timeout | undefined;
  const closeFromClient = () => {
    if (ws.readyState !== WebSocket.OPEN) return;
    closedByClient = true;
    ws.close(1000, "closed");
  };
  return new Promise<SessionOutcome>((resolve, reject) => {
    let opened = false;
    ws.on("upgrade", (res: IncomingMessage) => {
      sessionId = String(res.headers[SESSION_HEADER] ?? "");
    });
    ws.on("unexpected-response", (_req, res: IncomingMessage) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on("end", () => {
        const message = (parseJson(body) as { message?: string } | undefined)?.message ?? body;
        reject(new RunnerRequestError(res.statusCode ?? 0, `the dev runner refused the session: ${message}`));
      });
    });
    ws.on("error", (error: Error) => {
      if (!opened) {
        reject(
          new RunnerUnreachableError(`cannot reach the dev runner at ${options.baseUrl}: ${error.message}`),
        );
      }
    });
    ws.on("open", () => {
      opened = true;
      options.onOpen?.(sessionId);
      options.signal?.addEventListener("abort", closeFromClient, { once: true });
      void pump(ws, options.input).then(() => {
        linger = setTimeout(closeFromClient, options.lingerMs);
      });
    });
    ws.on("message", (data: RawData, isBinary: boolean) => {
      options.onFrame({ data: asBytes(data), isText: !isBinary });
    });
    ws.on("close", (code: number, reason: Buffer) => {
      clearTimeout(linger);
      options.signal?.removeEventListener("abort", closeFromClient);
      if (!opened) return;
      resolve({
        sessionId,
        reason: reason.toString("utf8") || (closedByClient ? "closed" : `websocket close ${code}`),
        code,
        closedBy: closedByClient ? "client" : "worker",
      });
    });
  });
}

/** Sends every frame of `input` while the WebSocket is open, waiting whenever ws holds more than 1 MiB. */
async function pump(ws: WebSocket, input: AsyncIterable<RealtimeFrameData>): Promise<void> {
  try {
    for await (const frame of input) {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(frame.data, { binary: !frame.isText });
      while (ws.bufferedAmount > 1024 * 1024 && ws.readyState === WebSocket.OPEN) {
        await new Promise((done) => setTimeout(done, 5));
      }
    }
  } catch {
    // Input that fails ends the input; the session lingers and closes as after a normal end.
  }
}

function sessionUrl(options: DevRunnerSessionOptions): URL {
  const url = new URL(`${REALTIME_PATH}${encodeURIComponent(options.endpoint)}`, options.baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  for (const [key, value] of Object.entries(options.query ?? {})) {
    for (const item of typeof value === "string" ? [value] : value) url.searchParams.append(key, item);
  }
  return url;
}

function asBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
