/**
 * `cozy-worker invoke ENDPOINT --realtime`: one realtime session, fed from stdin (a text frame per
 * line, or with --binary the bytes in frames of --frame-bytes), the worker's frames printed as they
 * come (text as a line, binary as `<N bytes> <base64>`).
 */
import { createInterface } from "node:readline";
import type { RealtimeFrameData } from "../contract/realtime.js";
import { ExitCode, type Output } from "./output.js";

/** Close reasons after which the session counts as a success. */
const NORMAL_ENDS = new Set(["completed", "closed"]);

export interface StdinFrames {
  frames: AsyncIterable<RealtimeFrameData>;
  /** Stops reading stdin, so that the process can exit while it is still open. */
  stop(): void;
}

/** stdin as frames: one text frame per line (without its line break), or binary frames of `frameBytes`. */
export function stdinFrames(binary: boolean, frameBytes: number, input = process.stdin): StdinFrames {
  if (!binary) {
    // Made when the frames are first read: readline drops the lines it reads before anyone listens.
    let lines: ReturnType<typeof createInterface> | undefined;
    const encoder = new TextEncoder();
    return {
      frames: (async function* () {
        lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
        for await (const line of lines) yield { data: encoder.encode(line), isText: true };
      })(),
      stop: () => {
        lines?.close();
        input.destroy();
      },
    };
  }
  return {
    frames: (async function* () {
      let pending: Buffer = Buffer.alloc(0);
      for await (const chunk of input as AsyncIterable<Buffer>) {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        while (pending.length >= frameBytes) {
          yield { data: pending.subarray(0, frameBytes), isText: false };
          pending = pending.subarray(frameBytes);
        }
      }
      if (pending.length > 0) yield { data: pending, isText: false };
    })(),
    stop: () => input.destroy(),
  };
}

export interface DevRunnerRealtimeOptions {
  url: string;
  endpoint: string;
  input: StdinFrames;
  lingerMs: number;
  sessionId?: string;
  timeoutMs?: number;
  owner?: string;
  userId?: string;
  requiredModels: readonly string[];
  signal: AbortSignal;
}

/** The session on a dev runner's WebSocket; returns the exit code. */
export async function invokeDevRunnerRealtime(
  options: DevRunnerRealtimeOptions,
  out: Output,
): Promise<number> {
  const { runDevRunnerSession } = await import("../adapters/http/realtime-client.js");
  const query: Record<string, string | readonly string[]> = {};
  if (options.sessionId !== undefined) query.session_id = options.sessionId;
  if (options.timeoutMs !== undefined) query.timeout_ms = String(options.timeoutMs);
  if (options.owner !== undefined) query.owner = options.owner;
  if (options.userId !== undefined) query.user_id = options.userId;
  if (options.requiredModels.length > 0) query.required_model = options.requiredModels;
  try {
    const outcome = await runDevRunnerSession({
      baseUrl: options.url,
      endpoint: options.endpoint,
      query,
      input: options.input.frames,
      lingerMs: options.lingerMs,
      signal: options.signal,
      onOpen: (sessionId) => out.info(`session ${sessionId} open on ${options.endpoint}`),
      onFrame: (frame) => process.stdout.write(`${formatFrame(frame)}\n`),
    });
    const line = `session ${outcome.sessionId} closed by the ${outcome.closedBy}: ${outcome.reason}`;
    if (outcome.closedBy === "client" || NORMAL_ENDS.has(outcome.reason)) {
      out.info(line);
      return ExitCode.Success;
    }
    out.error(`${line}${hint(outcome.reason)}`);
    return ExitCode.Failure;
  } finally {
    options.input.stop();
  }
}

/** A text frame as its text; a binary one as its size and base64. */
export function formatFrame(frame: RealtimeFrameData): string {
  const bytes = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
  return frame.isText ? bytes.toString("utf8") : `<${bytes.byteLength} bytes> ${bytes.toString("base64")}`;
}

function hint(reason: string): string {
  if (reason === "unknown_function")
    return " (no realtime handler has that name; the runner's log lists them)";
  if (reason === "frame_too_large")
    return " (a frame was over WORKER_MAX_WS_FRAME_BYTES; send smaller frames)";
  if (reason.startsWith("error:")) return " (the handler failed; the runner's log has its message)";
  return "";
}
