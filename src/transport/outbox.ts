export interface OutboxEntry<T> {
  message: T;
  /** May be discarded when the queue is over its limit. */
  droppable: boolean;
  /** Identifies the message for {@link Outbox.has} (a result's run id). */
  key?: string;
}

/**
 * Messages for the scheduler, kept in order until a stream has taken them. Results are never
 * dropped; when the queue is over its limit (a long outage with chatty runs), the oldest
 * droppable messages (progress, logs, metrics) go first.
 */
export class Outbox<T> {
  private readonly queue: OutboxEntry<T>[] = [];
  private dropped = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.queue.length;
  }

  /** How many droppable messages were discarded to stay under the limit. */
  get droppedCount(): number {
    return this.dropped;
  }

  push(entry: OutboxEntry<T>): void {
    this.queue.push(entry);
    if (this.limit > 0 && this.queue.length > this.limit) {
      const index = this.queue.findIndex((entry) => entry.droppable);
      if (index >= 0) {
        this.queue.splice(index, 1);
        this.dropped++;
      }
    }
    this.wake();
  }

  /** Puts messages a broken stream did not confirm back at the front, in their order. */
  returnToFront(entries: readonly OutboxEntry<T>[]): void {
    this.queue.unshift(...entries);
  }

  /** Whether a message with this key is still queued. */
  has(key: string): boolean {
    return this.queue.some((entry) => entry.key === key);
  }

  take(): OutboxEntry<T> | undefined {
    const entry = this.queue.shift();
    if (this.queue.length === 0) this.wakeEmpty();
    return entry;
  }

  /** Resolves when something is queued (at once if something already is). */
  whenNotEmpty(): Promise<void> {
    if (this.queue.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private emptyWaiters: (() => void)[] = [];

  /** Resolves when the queue is empty (at once if it is). */
  whenEmpty(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private wakeEmpty(): void {
    const waiters = this.emptyWaiters;
    this.emptyWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
