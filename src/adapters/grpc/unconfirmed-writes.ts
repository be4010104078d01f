import type { OutgoingMessage } from "./outbox.js";

const PAGE_ENTRIES = 512;
const PAGE_BYTES = 64 * 1024;

/**
 * Up to PAGE_ENTRIES consecutive writes, their bytes packed in one buffer. At thousands of results a
 * second, the writes of a whole confirmation window are alive at once; kept as one object and one
 * buffer each, they would make V8 grow its heap by hundreds of megabytes. Packed, they cost little
 * more than their bytes, off the JS heap.
 */
class Page {
  readonly bytes: Buffer;
  private used = 0;
  count = 0;
  readonly ends = new Uint32Array(PAGE_ENTRIES);
  /** When grpc-js took each write (its write callback); NaN until then. */
  readonly writtenAt = new Float64Array(PAGE_ENTRIES).fill(Number.NaN);
  readonly resultOf: (string | undefined)[] = [];

  constructor(capacity: number) {
    this.bytes = Buffer.allocUnsafeSlow(capacity);
  }

  fits(length: number): boolean {
    return this.count < PAGE_ENTRIES && this.used + length <= this.bytes.length;
  }

  push(message: OutgoingMessage): number {
    message.bytes.copy(this.bytes, this.used);
    this.used += message.bytes.length;
    this.ends[this.count] = this.used;
    this.resultOf[this.count] = message.resultOf;
    return this.count++;
  }

  message(index: number): OutgoingMessage {
    const start = index === 0 ? 0 : (this.ends[index - 1] as number);
    const message: OutgoingMessage = {
      bytes: this.bytes.subarray(start, this.ends[index]),
      delivery: "kept",
    };
    const resultOf = this.resultOf[index];
    if (resultOf !== undefined) message.resultOf = resultOf;
    return message;
  }
}

/** Which write {@link UnconfirmedWrites.written} stamps: a page and a slot in it. */
export interface WriteHandle {
  page: Page;
  index: number;
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
  private pages: Page[] = [];
  /** Confirmed entries at the front of the first page. */
  private head = 0;
  private count = 0;

  /** Messages not yet confirmed. */
  get size(): number {
    return this.count;
  }

  /** Records a message about to be written (a copy of its bytes); {@link written} stamps it when grpc-js took it. */
  add(message: OutgoingMessage): WriteHandle {
    let page = this.pages[this.pages.length - 1];
    if (!page?.fits(message.bytes.length)) {
      page = new Page(Math.max(PAGE_BYTES, message.bytes.length));
      this.pages.push(page);
    }
    this.count++;
    return { page, index: page.push(message) };
  }

  written(write: WriteHandle, now: number): void {
    write.page.writtenAt[write.index] = now;
  }

  /** Forgets the writes older than `window` ms, oldest first; stops at one not yet taken by grpc-js. */
  confirm(now: number, window: number): void {
    this.confirmWrittenBefore(now - window);
  }

  /** Forgets the writes grpc-js took at or before `time`, oldest first. */
  confirmWrittenBefore(time: number): void {
    while (this.count > 0) {
      const page = this.pages[0] as Page;
      const writtenAt = page.writtenAt[this.head] as number;
      // NaN (not taken yet) fails the comparison too.
      if (!(writtenAt <= time)) return;
      this.count--;
      this.head++;
      if (this.head === page.count) {
        this.pages.shift();
        this.head = 0;
      }
    }
  }

  /** Confirms everything: the scheduler ended the stream after reading to its end. */
  confirmAll(): void {
    this.pages = [];
    this.head = 0;
    this.count = 0;
  }

  /** Takes every unconfirmed message, in write order, to be sent again. */
  takeAll(): OutgoingMessage[] {
    const messages: OutgoingMessage[] = [];
    this.visitEach((page, index) => {
      messages.push(page.message(index));
    });
    this.confirmAll();
    return messages;
  }

  /** Whether every write has been taken by grpc-js (nothing is still waiting for its callback). */
  get allTaken(): boolean {
    const last = this.pages[this.pages.length - 1];
    return this.count === 0 || last === undefined || !Number.isNaN(last.writtenAt[last.count - 1]);
  }

  /** Run ids whose results are among the unconfirmed messages. */
  results(): string[] {
    const ids: string[] = [];
    this.visitEach((page, index) => {
      const runId = page.resultOf[index];
      if (runId !== undefined) ids.push(runId);
    });
    return ids;
  }

  private visitEach(visit: (page: Page, index: number) => void): void {
    let remaining = this.count;
    this.pages.forEach((page, p) => {
      for (let index = p === 0 ? this.head : 0; index < page.count && remaining > 0; index++, remaining--) {
        visit(page, index);
      }
    });
  }
}
