import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";

export interface StreamedGetOptions {
  headers: Record<string, string>;
  /** Longest silence allowed while waiting for headers or between body chunks. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A response whose body has not been read yet. */
export interface StreamedResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /**
   * Reads the body to its end, calling `onChunk` synchronously for each chunk. A chunk is only
   * valid during that call (download-agent.ts reuses read buffers). An exception thrown by
   * `onChunk` aborts the request and rejects the promise with it.
   */
  consume(onChunk: (chunk: Buffer) => void): Promise<void>;
  /** Drops the body by closing the connection. */
  discard(): void;
}

/**
 * A GET through `dispatcher.dispatch` rather than `request()`: body chunks reach the caller in the
 * parser's own call, never queued in a stream, which download-agent.ts's reused buffers require.
 */
export function streamedGet(
  dispatcher: Dispatcher,
  url: string,
  options: StreamedGetOptions,
): Promise<StreamedResponse> {
  const { origin, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const handler = new BodyHandler(resolve, reject, options.signal);
    dispatcher.dispatch(
      {
        origin,
        path: `${pathname}${search}`,
        method: "GET",
        headers: options.headers,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      },
      handler,
    );
  });
}

class BodyHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  /** Copies of chunks that arrived before `consume` (at most the rest of one read). */
  private early: Buffer[] = [];
  private onChunk: ((chunk: Buffer) => void) | undefined;
  private ended = false;
  private failure: Error | undefined;
  private settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private readonly onAbort = () => this.controller?.abort(this.signal?.reason as Error);

  constructor(
    private readonly resolveResponse: (response: StreamedResponse) => void,
    private readonly rejectResponse: (error: Error) => void,
    private readonly signal: AbortSignal | undefined,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal?.aborted) controller.abort(this.signal.reason as Error);
    else this.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ) {
    // An informational answer (103 Early Hints from a CDN) comes before the real one.
    if (statusCode < 200) return;
    this.resolveResponse({
      statusCode,
      headers,
      consume: (onChunk) => this.consume(onChunk),
      discard: () => this.controller?.abort(new Error("response body not needed")),
    });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.onChunk === undefined) {
      this.early.push(Buffer.from(chunk));
      return;
    }
    try {
      this.onChunk(chunk);
    } catch (error) {
      controller.abort(error as Error);
    }
  }

  onResponseEnd(): void {
    this.ended = true;
    this.done();
    this.settle?.resolve();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.failure = error;
    this.done();
    // Before the headers this rejects the response; after them, the body (or nothing, if discarded).
    this.rejectResponse(error);
    this.settle?.reject(error);
  }

  private consume(onChunk: (chunk: Buffer) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        for (const chunk of this.early) onChunk(chunk);
      } catch (error) {
        this.controller?.abort(error as Error);
        reject(error);
        return;
      }
      this.early = [];
      if (this.failure !== undefined) return reject(this.failure);
      if (this.ended) return resolve();
      this.onChunk = onChunk;
      this.settle = { resolve, reject };
    });
  }

  private done(): void {
    this.signal?.removeEventListener("abort", this.onAbort);
  }
}
