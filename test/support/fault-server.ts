import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the server saw of one request. */
export interface LoggedRequest {
  path: string;
  range: string | undefined;
  authorization: string | undefined;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => void | Promise<void>;

export interface TestServer {
  origin: string;
  url(path: string): string;
  /** Every request, in arrival order. */
  log: LoggedRequest[];
  /** Most requests in progress at once. */
  maxActive: number;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 whose every answer is written by `handler` (index = 0 for the first request). */
export async function startServer(handler: Handler): Promise<TestServer> {
  const log: LoggedRequest[] = [];
  let active = 0;
  const state = { maxActive: 0 };
  const server = createServer((req, res) => {
    const index = log.length;
    log.push({ path: req.url ?? "", range: req.headers.range, authorization: req.headers.authorization });
    active += 1;
    state.maxActive = Math.max(state.maxActive, active);
    res.on("close", () => {
      active -= 1;
    });
    Promise.resolve(handler(req, res, index)).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: (path) => `${origin}${path}`,
    log,
    get maxActive() {
      return state.maxActive;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SendOptions {
  /** Answer 200 with the whole file even to a Range request. */
  ignoreRange?: boolean;
  /** Send this many body bytes, then drop the connection. */
  cutAfter?: number;
  /** Send this many body bytes, then stay silent (the connection stays open). */
  stallAfter?: number;
  /** Answer a Range request from these bytes: another version of the file, of the same length. */
  rangeFrom?: Buffer;
}

/** Serves `content` with Range support (206 + Content-Range), or with the faults asked for. */
export function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  content: Buffer,
  options: SendOptions = {},
): void {
  const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  let body = content;
  if (match?.[1] !== undefined && !options.ignoreRange) {
    const start = Number(match[1]);
    if (start >= content.length) {
      res.writeHead(416, { "content-range": `bytes */${content.length}` });
      res.end();
      return;
    }
    body = (options.rangeFrom ?? content).subarray(start);
    res.writeHead(206, {
      "content-length": body.length,
      "content-range": `bytes ${start}-${content.length - 1}/${content.length}`,
      "accept-ranges": "bytes",
    });
  } else {
    res.writeHead(200, { "content-length": content.length, "accept-ranges": "bytes" });
  }
  const stopAt = options.cutAfter ?? options.stallAfter;
  if (stopAt === undefined) {
    res.end(body);
    return;
  }
  res.write(body.subarray(0, stopAt), () => {
    if (options.cutAfter !== undefined) res.socket?.destroy();
  });
}

export function sendStatus(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain", ...headers });
  res.end(`status ${status}`);
}

/** Another version of `content`: the same length, every byte different. */
export function otherVersion(content: Buffer): Buffer {
  return Buffer.from(content.map((byte) => byte ^ 0x5a));
}

/** Git's blob id of `content` (what `git hash-object` prints), as Hugging Face lists it. */
export function gitBlobId(content: Buffer): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/** Random content of `size` bytes and its sha256. */
export function makeContent(size: number): { content: Buffer; sha256: string } {
  const content = randomBytes(size);
  return { content, sha256: createHash("sha256").update(content).digest("hex") };
}
