import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

/** One direction of a link: chunks (and the final end, as null) held `delayMs` each, in order. */
class DelayedPipe {
  private readonly queue: { due: number; chunk: Buffer | null }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastDue = 0;

  constructor(
    private readonly delayMs: () => number,
    private readonly deliver: (chunk: Buffer | null) => void,
  ) {}

  push(chunk: Buffer | null): void {
    const now = Date.now();
    const due = Math.max(now + this.delayMs(), this.lastDue);
    this.lastDue = due;
    if (due <= now && this.queue.length === 0) {
      this.deliver(chunk);
      return;
    }
    this.queue.push({ due, chunk });
    this.schedule();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, (this.queue[0]?.due ?? 0) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    while (this.queue.length > 0 && (this.queue[0]?.due ?? 0) <= Date.now()) {
      const entry = this.queue.shift();
      if (entry) this.deliver(entry.chunk);
    }
    this.schedule();
  }
}

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  /** Black-holed: nothing is forwarded any more, in either direction, and no close is passed on. */
  dead: boolean;
  pipes: DelayedPipe[];
}

/**
 * A TCP proxy between the worker and the scheduler that injects network faults. It never helps
 * the worker: a black-holed connection stays open and silent for good, so only the worker's own
 * liveness checks can find out it is dead.
 */
export class ChaosProxy {
  /** Connections the worker opened, in all. */
  accepted = 0;
  private readonly links = new Set<Link>();
  private delay = 0;
  private blackHoleUntil = 0;

  private constructor(
    private readonly server: Server,
    private readonly target: () => { host: string; port: number },
  ) {}

  /** Listens on a free loopback port; `target` is asked for the scheduler's address on every connect. */
  static async start(target: () => string): Promise<ChaosProxy> {
    const server = createServer({ allowHalfOpen: true });
    const proxy = new ChaosProxy(server, () => splitAddress(target()));
    server.on("connection", (client) => proxy.accept(client));
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    return proxy;
  }

  get address(): string {
    const address = this.server.address();
    if (!address || typeof address === "string") throw new Error("the proxy is not listening");
    return `127.0.0.1:${address.port}`;
  }

  /** Destroys both sides of every live connection with a TCP reset. */
  reset(): void {
    for (const link of this.links) {
      if (link.dead) continue;
      link.client.resetAndDestroy();
      link.upstream?.resetAndDestroy();
    }
  }

  /**
   * Every live connection stops forwarding for good (its sockets stay open); connections opened in
   * the next `ms` are just as dead. After that, new connections forward normally.
   */
  blackHole(ms: number): void {
    for (const link of this.links) this.kill(link);
    this.blackHoleUntil = Date.now() + ms;
  }

  /** Holds every chunk `ms` before forwarding it (0: forward at once). */
  setDelay(ms: number): void {
    this.delay = ms;
  }

  async close(): Promise<void> {
    for (const link of this.links) {
      link.client.destroy();
      link.upstream?.destroy();
    }
    this.links.clear();
    await new Promise((done) => this.server.close(done));
  }

  private accept(client: Socket): void {
    this.accepted++;
    const link: Link = { client, upstream: undefined, dead: false, pipes: [] };
    this.links.add(link);
    client.on("error", () => {});
    client.on("close", () => this.forget(link));
    if (Date.now() < this.blackHoleUntil) {
      link.dead = true;
      client.resume();
      return;
    }
    const upstream = tcpConnect({ ...this.target(), allowHalfOpen: true });
    link.upstream = upstream;
    upstream.on("error", () => {});
    upstream.on("close", () => this.forget(link));
    this.forward(link, client, upstream);
    this.forward(link, upstream, client);
  }

  /** Copies `from` to `to` through a delayed pipe, passing on its end and its closing while live. */
  private forward(link: Link, from: Socket, to: Socket): void {
    const pipe = new DelayedPipe(
      () => this.delay,
      (chunk) => {
        if (link.dead || to.destroyed) return;
        if (chunk) to.write(chunk);
        else to.end();
      },
    );
    link.pipes.push(pipe);
    from.on("data", (chunk: Buffer) => {
      if (!link.dead) pipe.push(chunk);
    });
    from.on("end", () => {
      if (!link.dead) pipe.push(null);
    });
    from.on("close", (hadError: boolean) => {
      if (link.dead || to.destroyed) return;
      // A reset (or a refused connect) is passed on as a reset; a clean close after the pending data.
      if (hadError) to.resetAndDestroy();
      else pipe.push(null);
    });
  }

  private kill(link: Link): void {
    link.dead = true;
    for (const pipe of link.pipes) pipe.clear();
  }

  private forget(link: Link): void {
    if (link.client.destroyed && (link.upstream?.destroyed ?? true)) this.links.delete(link);
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const index = address.lastIndexOf(":");
  return { host: address.slice(0, index), port: Number(address.slice(index + 1)) };
}
