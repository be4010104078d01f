/** What one queued frame costs beyond its bytes, so that a flood of empty frames is bounded too. */
export const FRAME_OVERHEAD_BYTES = 64;

/**
 * The inbound frames of one realtime session, in arrival order, for the handler's `for await`. It is
 * bounded by bytes, not by a count of frames: many small frames fit, a few large ones fill it. The
 * queue itself never drops a frame: {@link push} says when it is over its budget, and the session
 * then closes with `overflow` or pauses its peer.
 */
export class FrameQueue {
  private frames: Uint8Array[] = [];
  private head = 0;
  private queuedBytes = 0;
  private ended = false;
  /** Set when a push went over the budget; cleared (calling `onDrained`) at half of it. */
  private overBudget = false;
  private readonly waiters: ((result: IteratorResult<Uint8Array>) => void)[] = [];

  /** `onDrained` is called when a queue that was over its budget has been read down to half of it. */
  constructor(
    private readonly limitBytes: number,
    private readonly onDrained?: () => void,
  ) {}

  /** Bytes waiting, each frame counted with {@link FRAME_OVERHEAD_BYTES}. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Adds a frame (handing it straight to a waiting reader); false when the queue is now over its budget. */
  push(frame: Uint8Array): boolean {
    if (this.ended) return true;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter({ value: frame, done: false });
      return true;
    }
    this.frames.push(frame);
    this.queuedBytes += frame.byteLength + FRAME_OVERHEAD_BYTES;
    if (this.queuedBytes <= this.limitBytes) return true;
    this.overBudget = true;
    return false;
  }

  /**
   * Ends iteration: readers get the frames still queued and then `done`, or, with `discard`, `done`
   * at once. Later pushes are ignored.
   */
  end(discard: boolean): void {
    if (this.ended) return;
    this.ended = true;
    if (discard) {
      this.frames = [];
      this.head = 0;
      this.queuedBytes = 0;
    }
    for (const waiter of this.waiters.splice(0)) waiter({ value: undefined, done: true });
  }

  /** The next frame, waiting for one; `done` once the queue has ended and is empty. */
  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.head < this.frames.length) return Promise.resolve({ value: this.take(), done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private take(): Uint8Array {
    const frame = this.frames[this.head] as Uint8Array;
    this.frames[this.head] = EMPTY;
    this.head++;
    this.queuedBytes -= frame.byteLength + FRAME_OVERHEAD_BYTES;
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    if (this.overBudget && this.queuedBytes * 2 <= this.limitBytes) {
      this.overBudget = false;
      this.onDrained?.();
    }
    return frame;
  }
}

const EMPTY = new Uint8Array(0);
