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
  private waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.queue.length;
  }

  push(entry: OutboxEntry<T>): void {
    this.queue.push(entry);
    if (this.limit > 0 && this.queue.length > this.limit) {
      const index = this.queue.findIndex((queued) => queued.droppable);
      if (index >= 0) this.queue.splice(index, 1);
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
    return this.queue.shift();
  }

  /** Resolves when something is queued (at once if something already is). */
  whenNotEmpty(): Promise<void> {
    if (this.queue.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
