import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConnector } from "undici";

export interface RecordedRequest {
  method: string;
  /** The raw request target, percent-encoding kept. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface TestServer {
  /** `http://127.0.0.1:<port>` (or `http://[::1]:<port>`), without a trailing slash. */
  origin: string;
  port: number;
  requests: RecordedRequest[];
  /** Requests being answered right now, and the most seen at once. */
  inFlight: { now: number; max: number };
  close(): Promise<void>;
}

/** A real HTTP server on a loopback address and a free port. */
export async function startServer(handler: Handler, host = "127.0.0.1"): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const inFlight = { now: 0, max: 0 };
  const server = createServer(async (req, res) => {
    inFlight.now++;
    inFlight.max = Math.max(inFlight.max, inFlight.now);
    res.on("close", () => {
      inFlight.now--;
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
    try {
      await handler(req, res, body);
    } catch (error) {
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const origin = host.includes(":") ? `http://[${host}]:${port}` : `http://${host}:${port}`;
  return {
    origin,
    port,
    requests,
    inFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface StoredFile {
  data: Buffer;
  mimeType?: string;
}

export interface FakeFileApiOptions {
  /** Required bearer token; none: no auth. */
  token?: string;
  /** Send the X-Cozy-* headers on HEAD (the dev file API does not). */
  cozyHeaders?: boolean;
  /** Answer every request of this method with this status. */
  forceStatus?: Partial<Record<string, number>>;
  /** What HEAD reports as the sha256, when it should lie. */
  headSha256?: (ref: string) => string | undefined;
}

export interface FakeFileApi extends TestServer {
  files: Map<string, StoredFile>;
}

/** A Cozy file API: PUT upserts, POST creates (409 when present), HEAD and GET read. */
export async function startFakeFileApi(options: FakeFileApiOptions = {}): Promise<FakeFileApi> {
  const files = new Map<string, StoredFile>();
  const server = await startServer((req, res, body) => {
    const method = req.method ?? "";
    const forced = options.forceStatus?.[method];
    if (forced !== undefined) {
      res.writeHead(forced).end();
      return;
    }
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401).end();
      return;
    }
    const prefix = "/api/v1/file/";
    const target = req.url ?? "";
    if (!target.startsWith(prefix)) {
      res.writeHead(404).end();
      return;
    }
    const ref = target.slice(prefix.length).split("/").map(decodeURIComponent).join("/");
    const stored = files.get(ref);
    if (method === "PUT" || method === "POST") {
      if (method === "POST" && stored !== undefined) {
        res.writeHead(409).end();
        return;
      }
      files.set(ref, { data: body });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ ref, size_bytes: body.byteLength, sha256: sha256(body), mime_type: "image/x-test" }),
      );
      return;
    }
    if (stored === undefined) {
      res.writeHead(404).end();
      return;
    }
    if (method === "HEAD") {
      const headers: Record<string, string | number> = {
        "content-length": stored.data.byteLength,
        "content-type": "application/octet-stream",
      };
      if (options.cozyHeaders ?? true) {
        headers["x-cozy-sha256"] = options.headSha256?.(ref) ?? sha256(stored.data);
        headers["x-cozy-size-bytes"] = String(stored.data.byteLength);
        if (stored.mimeType !== undefined) headers["x-cozy-mime-type"] = stored.mimeType;
      }
      res.writeHead(200, headers).end();
      return;
    }
    if (method === "GET") {
      res.writeHead(200, { "content-length": stored.data.byteLength }).end(stored.data);
      return;
    }
    res.writeHead(405).end();
  });
  return { ...server, files };
}

export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function isLoopback(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === "::1";
}

/**
 * The only socket opener the download tests use: it records every address it is asked for and
 * refuses anything but loopback, so a failed SSRF check still cannot reach another machine.
 */
export function loopbackOnlyConnector(): { connect: buildConnector.connector; calls: string[] } {
  const real = buildConnector({});
  const calls: string[] = [];
  const connect: buildConnector.connector = (options, callback) => {
    calls.push(`${options.hostname}:${options.port}`);
    if (!isLoopback(options.hostname)) {
      throw new Error(`test guard: refused to connect to ${options.hostname}`);
    }
    real(options, callback);
  };
  return { connect, calls };
}

/** A resolver that knows a few test names and never asks a DNS server. */
export function fakeLookup(table: Record<string, string[]>): (hostname: string) => Promise<string[]> {
  return async (hostname) => {
    const addresses = table[hostname];
    if (addresses === undefined) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    }
    return addresses;
  };
}

export async function makeTempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "gen-worker-files-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A tiny valid PNG header and some bytes. */
export const PNG_BYTES = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from("IHDR-and-some-pixels"),
]);

/** Awaits a rejection and checks its class (and message, when given). */
export async function expectRejection<E extends Error>(
  promise: Promise<unknown>,
  errorClass: new (...args: never[]) => E,
  message?: string | RegExp,
): Promise<E> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  if (!(error instanceof errorClass)) {
    throw new Error(`expected a ${errorClass.name}, got ${String(error)}`, { cause: error });
  }
  if (typeof message === "string" && error.message !== message) {
    throw new Error(`expected message ${JSON.stringify(message)}, got ${JSON.stringify(error.message)}`);
  }
  if (message instanceof RegExp && !message.test(error.message)) {
    throw new Error(`expected message matching ${message}, got ${JSON.stringify(error.message)}`);
  }
  return error;
}
