/**
 * Realtime sessions on the scheduler stream: `realtime_open_cmd`, `realtime_frame` and
 * `realtime_close_cmd` in, `realtime_frame` and `realtime_close_cmd` out. The sessions themselves are
 * the runtime's ({@link RealtimeHost}); this file only speaks the protocol.
 */
import type { RealtimeCloseReason, RealtimeTransport } from "../../contract/realtime.js";
import type { Logger } from "../../host/logger.js";
import type { RealtimeHost } from "../../runtime/realtime/host.js";
import type { SessionEnd } from "../../runtime/realtime/session.js";
import type {
  RealtimeCloseCommand__Output,
  RealtimeFrame__Output,
  RealtimeOpenCommand__Output,
  WorkerSchedulerMessage,
} from "./proto.js";
import { encodeMessage } from "./wire.js";

export interface SchedulerRealtimeOptions {
  host: RealtimeHost;
  /**
   * Queues a serialized message for the scheduler. Frames and closes are kept like deltas: in order,
   * never shed, sent again after a broken stream.
   */
  send(bytes: Buffer): void;
  /** The largest message the scheduler accepts (`WORKER_MAX_SEND_MESSAGE_BYTES`). */
  maxSendMessageBytes: number;
  log: Logger;
}

/** Bridges the scheduler's realtime messages to the runtime's sessions. */
export class SchedulerRealtime {
  constructor(private readonly options: SchedulerRealtimeOptions) {}

  open(command: RealtimeOpenCommand__Output): void {
    const sessionId = command.session_id;
    const { host, log } = this.options;
    if (sessionId === "") {
      log.warn({ function: command.function_name }, "realtime_open_cmd without a session_id; ignored");
      return;
    }
    const outcome = host.open(
      {
        sessionId,
        functionName: command.function_name,
        requiredModels: command.required_variant_refs,
        owner: command.owner,
        userId: command.user_id,
        timeoutMs: Number(command.timeout_ms) || 0,
        fileBaseUrl: command.file_base_url,
        fileToken: command.file_token,
      },
      this.transport(sessionId),
    );
    if ("refused" in outcome) {
      log.warn(
        { sessionId, function: command.function_name, refused: outcome.refused },
        outcome.refused === "duplicate"
          ? "realtime_open_cmd for a session that is already open; ignored"
          : `realtime session refused: ${outcome.refused}`,
      );
      return;
    }
    log.info({ sessionId, function: outcome.session.functionName }, "realtime session opened");
  }

  frame(frame: RealtimeFrame__Output): void {
    // Frames of sessions that are not open (ended, or never opened) are ignored, as the Python SDK did.
    this.options.host.frame(frame.session_id, frame.data);
  }

  close(command: RealtimeCloseCommand__Output): void {
    if (this.options.host.peerClosed(command.session_id)) {
      this.options.log.info(
        { sessionId: command.session_id, reason: command.reason },
        "realtime session closed by the scheduler",
      );
    }
  }

  /** For the host's `onSessionEnd`. */
  logEnd(end: SessionEnd): void {
    const fields = {
      sessionId: end.sessionId,
      function: end.functionName,
      reason: end.reason,
      closedBy: end.closedBy,
      ms: Math.round(end.durationMs),
      ...(end.failure ? { error: end.failure.errorMessage } : {}),
    };
    if (end.failure) this.options.log.warn(fields, `realtime session ended: ${end.reason}`);
    else this.options.log.info(fields, `realtime session ended: ${end.reason}`);
  }

  private transport(sessionId: string): RealtimeTransport {
    const { maxSendMessageBytes } = this.options;
    const queue = (message: WorkerSchedulerMessage) => this.options.send(encodeMessage(message));
    return {
      sendFrame: (data, isText) => {
        const bytes = encodeMessage({
          realtime_frame: {
            session_id: sessionId,
            data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
            is_text: isText,
          },
        });
        if (bytes.length > maxSendMessageBytes) {
          throw new RangeError(
            `a frame of ${data.byteLength} bytes does not fit in a message the scheduler accepts (WORKER_MAX_SEND_MESSAGE_BYTES = ${maxSendMessageBytes}): send smaller frames`,
          );
        }
        this.options.send(bytes);
      },
      close: (reason: RealtimeCloseReason) =>
        queue({ realtime_close_cmd: { session_id: sessionId, reason } }),
    };
  }
}
