import type { OutgoingMessage } from "./outbox.js";

interface Write {
  message: OutgoingMessage;
  /** When grpc-js took the message (its write callback); undefined until then. */
  writtenAt: number | undefined;
}

/**
 * The kept messages written on one stream that the scheduler may not have read yet, in write order.
 *
 * gRPC has no acknowledgements on this stream, and grpc-js calls a write's callback once the
 * message is handed to HTTP/2, not once the peer has it. What proves the peer alive is keepalive:
 * grpc-js pings the scheduler every keepalive interval and ends the stream when a ping goes
 * unanswered for the keepalive timeout. So a message counts as delivered once the stream has
 * stayed up for one full detection window after its write (the window spans a ping sent after
 * the write and its answer), or once a message from the scheduler arrives more than a keepalive
 * timeout after the write (a round trip on a live stream takes less, so the scheduler sent it after
 * the write reached it, alive on a working link); if the stream breaks before either,
 * the message goes out again on the next stream. docs/architecture/08-grpc-adapter.md states the
 * guarantee this gives.
 */
export class UnconfirmedWrites {
  private writes: Write[] = [];
  private head = 0;

  /** Messages not yet confirmed. */
  get size(): number {
    return this.writes.length - this.head;
  }

  /** Records a message about to be written; {@link written} stamps it when grpc-js took it. */
  add(message: OutgoingMessage): Write {
    const write: Write = { message, writtenAt: undefined };
    this.writes.push(write);
    return write;
  }

  written(write: Write, now: number): void {
    write.writtenAt = now;
  }

  /** Forgets the writes older than `window` ms, oldest first; stops at one not yet taken by grpc-js. */
  confirm(now: number, window: number): void {
    while (this.head < this.writes.length) {
      const write = this.writes[this.head] as Write;
      if (write.writtenAt === undefined || now - write.writtenAt < window) break;
      this.head++;
    }
    this.compact();
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.writes.length) {
      this.writes = this.writes.slice(this.head);
      this.head = 0;
    }
  }

  /** Forgets the writes grpc-js took at or before `time`, oldest first. */
  confirmWrittenBefore(time: number): void {
    while (this.head < this.writes.length) {
      const writtenAt = this.writes[this.head]?.writtenAt;
      if (writtenAt === undefined || writtenAt > time) break;
      this.head++;
    }
    this.compact();
  }

  /** Confirms everything: the scheduler ended the stream after reading to its end. */
  confirmAll(): void {
    this.writes = [];
    this.head = 0;
  }

  /** Takes every unconfirmed message, in write order, to be sent again. */
  takeAll(): OutgoingMessage[] {
    const messages = this.writes.slice(this.head).map((write) => write.message);
    this.confirmAll();
    return messages;
  }

  /** Whether every write has been taken by grpc-js (nothing is still waiting for its callback). */
  get allTaken(): boolean {
    const last = this.writes[this.writes.length - 1];
    return last === undefined || this.head >= this.writes.length || last.writtenAt !== undefined;
  }

  /** Run ids whose results are among the unconfirmed messages. */
  results(): string[] {
    const ids: string[] = [];
    for (let i = this.head; i < this.writes.length; i++) {
      const runId = this.writes[i]?.message.resultOf;
      if (runId !== undefined) ids.push(runId);
    }
    return ids;
  }
}
