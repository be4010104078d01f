import type { RealtimeSocket } from "../../contract/handler-api.js";
import type { FrameQueue } from "./frame-queue.js";

/** What the socket needs of its session. */
export interface SocketSession {
  readonly sessionId: string;
  /** Whether the session is closed, by either side. */
  readonly isClosed: boolean;
  /** The largest frame either way (`WORKER_MAX_WS_FRAME_BYTES`). */
  readonly maxFrameBytes: number;
  sendFrame(data: Uint8Array, isText: boolean): void;
  /** The handler closed the session (`closed`). */
  closeByHandler(): void;
}

const encoder = new TextEncoder();

/** The {@link RealtimeSocket} a realtime handler receives. */
export class SessionSocket implements RealtimeSocket {
  constructor(
    private readonly session: SocketSession,
    private readonly inbound: FrameQueue,
  ) {}

  get sessionId(): string {
    return this.session.sessionId;
  }

  get closed(): boolean {
    return this.session.isClosed;
  }

  send(data: Uint8Array | string): void {
    if (this.session.isClosed) return;
    const isText = typeof data === "string";
    if (!isText && !(data instanceof Uint8Array)) {
      throw new TypeError(`socket.send needs a Uint8Array or a string, got ${describe(data)}`);
    }
    const bytes = isText ? encoder.encode(data) : data;
    const max = this.session.maxFrameBytes;
    if (bytes.byteLength > max) {
      throw new RangeError(
        `a frame of ${bytes.byteLength} bytes is over the limit of ${max} (WORKER_MAX_WS_FRAME_BYTES): send smaller frames, or raise the limit`,
      );
    }
    this.session.sendFrame(bytes, isText);
  }

  sendJson(value: unknown): void {
    const json = JSON.stringify(value);
    if (json === undefined)
      throw new TypeError(`socket.sendJson cannot send ${describe(value)}: it is not JSON`);
    this.send(json);
  }

  close(): void {
    this.session.closeByHandler();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    const inbound = this.inbound;
    const iterator: AsyncIterableIterator<Uint8Array> = {
      next: () => inbound.next(),
      // Leaving a `for await` loop early leaves the session open: the handler may read on later.
      return: () => Promise.resolve({ value: undefined, done: true }),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "an object";
  return typeof value;
}
