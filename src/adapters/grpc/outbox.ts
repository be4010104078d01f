/** How a message for the scheduler may be treated when the link fails or the queue overflows. */
export type Delivery =
  /** Results, deltas, custom and model events: kept until delivered, sent again after a broken stream. */
  | "kept"
  /** Progress, logs and metrics: may be shed in a long outage, and lost with a broken stream. */
  | "droppable";

/** One serialized `WorkerSchedulerMessage` on its way to the scheduler. */
export interface OutgoingMessage {
  bytes: Buffer;
  delivery: Delivery;
  /** The run id of a result, so that a re-dispatched run can tell whether its result is still queued. */
  resultOf?: string;
}

interface Slot {
  message: OutgoingMessage;
  dropped: boolean;
}

/**
 * Messages for the scheduler, in order, until a stream takes them. When more than `limit` wait (a
 * long outage with chatty runs), the oldest droppable ones are shed; kept messages never are.
 * Every operation is O(1) but {@link returnToFront}, which runs once per broken stream.
 */
export class Outbox {
  private slots: Slot[] = [];
  private head = 0;
  /** Droppable slots still queued, oldest first (the same slot objects as in `slots`). */
  private droppable: Slot[] = [];
  private droppableHead = 0;
  private live = 0;
  private readonly queuedResults = new Map<string, number>();
  private onAvailable: (() => void) | undefined;

  constructor(private readonly limit: number) {}

  /** Messages waiting. */
  get size(): number {
    return this.live;
  }

  push(message: OutgoingMessage): void {
    const slot: Slot = { message, dropped: false };
    this.slots.push(slot);
    this.admit(slot);
    if (message.delivery === "droppable") this.droppable.push(slot);
    if (this.limit > 0 && this.live > this.limit) this.shedOldestDroppable();
    this.wake();
  }

  /** Puts messages a broken stream may not have delivered back at the front, in their order. */
  returnToFront(messages: readonly OutgoingMessage[]): void {
    if (messages.length === 0) return;
    const returned = messages.map((message) => ({ message, dropped: false }));
    for (const slot of returned) this.admit(slot);
    this.slots = [...returned, ...this.slots.slice(this.head)];
    this.head = 0;
    this.wake();
  }

  /** The next message, or undefined when none waits. */
  take(): OutgoingMessage | undefined {
    while (this.head < this.slots.length) {
      const slot = this.slots[this.head] as Slot;
      this.head++;
      if (slot.dropped) continue;
      slot.dropped = true;
      this.live--;
      this.forgetResult(slot.message);
      this.compact();
      return slot.message;
    }
    this.compact();
    return undefined;
  }

  /** Whether the result of this run is still waiting here. */
  hasResultOf(runId: string): boolean {
    return this.queuedResults.has(runId);
  }

  /** Run ids whose results wait here. */
  resultsWaiting(): string[] {
    return [...this.queuedResults.keys()];
  }

  /** Calls `listener` once, as soon as a message waits (at once if one does). Replaces an earlier one. */
  whenAvailable(listener: (() => void) | undefined): void {
    this.onAvailable = listener;
    if (listener && this.live > 0) this.wake();
  }

  private admit(slot: Slot): void {
    this.live++;
    const runId = slot.message.resultOf;
    if (runId !== undefined) this.queuedResults.set(runId, (this.queuedResults.get(runId) ?? 0) + 1);
  }

  private forgetResult(message: OutgoingMessage): void {
    const runId = message.resultOf;
    if (runId === undefined) return;
    const count = (this.queuedResults.get(runId) ?? 1) - 1;
    if (count > 0) this.queuedResults.set(runId, count);
    else this.queuedResults.delete(runId);
  }

  private shedOldestDroppable(): void {
    while (this.droppableHead < this.droppable.length) {
      const slot = this.droppable[this.droppableHead] as Slot;
      this.droppableHead++;
      if (slot.dropped) continue;
      slot.dropped = true;
      this.live--;
      return;
    }
  }

  /** Drops consumed slots once they are most of the array, so memory follows what waits. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
    if (this.droppableHead > 1024 && this.droppableHead * 2 > this.droppable.length) {
      this.droppable = this.droppable.slice(this.droppableHead).filter((slot) => !slot.dropped);
      this.droppableHead = 0;
    }
    if (this.live === 0) {
      this.slots = [];
      this.head = 0;
      this.droppable = [];
      this.droppableHead = 0;
    }
  }

  private wake(): void {
    const listener = this.onAvailable;
    if (!listener || this.live === 0) return;
    this.onAvailable = undefined;
    listener();
  }
}
