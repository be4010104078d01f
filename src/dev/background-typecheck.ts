import { Worker } from "node:worker_threads";
import type { Problem } from "../contract/problems.js";
import type { TypeCheckReply, TypeCheckRequest } from "./typecheck-worker.js";

export interface TypeCheckListener {
  onResult(problems: Problem[]): void;
  onFailure(message: string): void;
}

/**
 * Type-checks the project on a worker thread: a check takes seconds of CPU, and on the main
 * thread it would hold up requests and reloads. One check runs at a time; a request made while
 * one runs waits, replacing any request already waiting, and the running check's result, out of
 * date by then, is dropped. {@link cancel} ends a running check at once, so that it takes no CPU
 * from the reload that follows a change.
 */
export class BackgroundTypeCheck {
  private worker: Worker | undefined;
  private busy = false;
  private waiting: TypeCheckRequest | undefined;
  private closed = false;

  constructor(private readonly listener: TypeCheckListener) {}

  request(request: TypeCheckRequest): void {
    if (this.closed) return;
    if (this.busy) this.waiting = request;
    else this.start(request);
  }

  /** Stops the running check, if any, and forgets the waiting one: the code is changing again. */
  cancel(): void {
    this.waiting = undefined;
    if (!this.busy) return;
    this.busy = false;
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiting = undefined;
    await this.worker?.terminate();
  }

  private start(request: TypeCheckRequest): void {
    this.busy = true;
    this.thread().postMessage(request);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL("./typecheck-worker.js", import.meta.url));
    worker.unref();
    worker.on("message", (reply: TypeCheckReply) => this.settle(reply));
    worker.on("error", (error) => {
      this.worker = undefined;
      this.settle({ error: error.message });
    });
    worker.on("exit", (code) => {
      if (this.worker !== worker || this.closed) return;
      this.worker = undefined;
      this.settle({ error: `the type-check thread exited with code ${code}` });
    });
    this.worker = worker;
    return worker;
  }

  private settle(reply: TypeCheckReply): void {
    if (this.closed) return;
    this.busy = false;
    const next = this.waiting;
    this.waiting = undefined;
    if (next) this.start(next);
    else if ("error" in reply) this.listener.onFailure(reply.error);
    else this.listener.onResult(reply.problems);
  }
}
