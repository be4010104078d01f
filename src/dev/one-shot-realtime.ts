/**
 * The realtime mode of the one-shot scheduler (`cozy-worker invoke ENDPOINT --realtime --scheduler`):
 * it opens one session on the connected worker with `realtime_open_cmd`, sends the input's frames as
 * `realtime_frame`s, prints the worker's frames and ends at the session's `realtime_close_cmd`, or
 * closes the session itself once the input has ended and the worker has not closed it in time.
 */
import type { RealtimeFrameData } from "../contract/realtime.js";
import { pyRepr } from "./py-repr.js";
import type { ReceivedMessage, SchedulerServer } from "./scheduler-server.js";

/** Exit codes, as the one-shot scheduler's for runs. */
const Exit = { Success: 0, Failed: 1, NoWorker: 2 } as const;

/** How long the events a handler sends after the scheduler closed its session are still printed. */
const CLOSE_GRACE_MS = 300;

/** Close reasons after which the session counts as a success. */
const NORMAL_ENDS = new Set(["completed", "closed"]);

export interface RealtimeOneShotOptions {
  /** The frames to send, in order. */
  input: AsyncIterable<RealtimeFrameData>;
  /** Once the input has ended, how long to wait for the worker to close the session before closing it. */
  lingerMs: number;
}

export interface RealtimeSessionSpec {
  sessionId: string;
  functionName: string;
  requiredModels: readonly string[];
  timeoutMs: number;
  owner: string;
  userId: string;
  fileBaseUrl: string;
  fileToken: string;
}

interface Writer {
  stdout(line: string): void;
  stderr(line: string): void;
}

/** Runs one session to its close; resolves with the exit code. */
export async function runRealtimeOneShot(
  scheduler: SchedulerServer,
  spec: RealtimeSessionSpec,
  options: RealtimeOneShotOptions,
  out: Writer,
  cancel: AbortSignal | undefined,
): Promise<number> {
  const { sessionId } = spec;
  let settle: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    settle = resolve;
  });
  let closed = false;
  const finish = (code: number) => {
    closed = true;
    settle(code);
  };
  const unsubscribe = scheduler.onMessage(({ message }: ReceivedMessage) => {
    if (closed) return;
    if (message.msg === "realtime_frame" && message.realtime_frame?.session_id === sessionId) {
      out.stdout(`[frame] ${formatFrame(message.realtime_frame.data, message.realtime_frame.is_text)}`);
    } else if (message.msg === "realtime_close_cmd" && message.realtime_close_cmd?.session_id === sessionId) {
      const reason = message.realtime_close_cmd.reason;
      out.stdout(`[closed] by=worker reason=${pyRepr(reason)}`);
      if (!NORMAL_ENDS.has(reason)) out.stderr(`[error] the session ended with ${pyRepr(reason)}`);
      finish(NORMAL_ENDS.has(reason) ? Exit.Success : Exit.Failed);
    }
  });
  const closeFromScheduler = (why: string) => {
    if (closed) return;
    try {
      scheduler.send({ realtime_close_cmd: { session_id: sessionId, reason: "closed" } });
      out.stdout(`[closed] by=scheduler reason='closed' (${why})`);
      closed = true;
      // The handler still runs for a moment after the close: its last events are printed too.
      setTimeout(() => finish(Exit.Success), CLOSE_GRACE_MS);
    } catch {
      out.stderr("[error] the worker disconnected before the session was closed");
      finish(Exit.NoWorker);
    }
  };
  const onCancel = () => closeFromScheduler("interrupted");
  try {
    try {
      scheduler.send({
        realtime_open_cmd: {
          session_id: sessionId,
          function_name: spec.functionName,
          required_variant_refs: [...spec.requiredModels],
          owner: spec.owner,
          user_id: spec.userId,
          timeout_ms: spec.timeoutMs,
          file_base_url: spec.fileBaseUrl,
          file_token: spec.fileToken,
        },
      });
    } catch {
      out.stderr("[error] the worker disconnected before the session could be opened");
      return Exit.NoWorker;
    }
    out.stdout(`[sent] realtime_open_cmd session_id=${sessionId} function=${pyRepr(spec.functionName)}`);
    cancel?.addEventListener("abort", onCancel, { once: true });
    void sendInput(scheduler, sessionId, options.input, () => closed).then((ended) => {
      if (!ended || closed) return;
      const timer = setTimeout(
        () => closeFromScheduler(`the input ended ${options.lingerMs} ms ago`),
        options.lingerMs,
      );
      void done.then(() => clearTimeout(timer));
    });
    return await done;
  } finally {
    cancel?.removeEventListener("abort", onCancel);
    unsubscribe();
  }
}

/** Sends each input frame while the session is open; true when the input ran out, false when cut short. */
async function sendInput(
  scheduler: SchedulerServer,
  sessionId: string,
  input: AsyncIterable<RealtimeFrameData>,
  isClosed: () => boolean,
): Promise<boolean> {
  try {
    for await (const frame of input) {
      if (isClosed()) return false;
      scheduler.send({
        realtime_frame: { session_id: sessionId, data: Buffer.from(frame.data), is_text: frame.isText },
      });
    }
    return true;
  } catch {
    return !isClosed();
  }
}

/** A text frame as its text; a binary one as its size and base64. */
export function formatFrame(data: Uint8Array, isText: boolean): string {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return isText ? bytes.toString("utf8") : `<${bytes.byteLength} bytes> ${bytes.toString("base64")}`;
}
