/**
 * A tiny stand-in for the Cozy file API over a local folder, for `cozy-worker invoke --scheduler
 * --serve-files-dir` and tests: `/api/v1/file/<url-encoded ref>` with PUT (upsert), POST (create
 * only: 409 when the file exists), HEAD (with the `X-Cozy-*` headers) and GET.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { link, mkdir, open, realpath, rename, stat, unlink } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, dirname, join, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { SNIFF_BYTES, sniffFileMime, sniffMime } from "../runtime/files/mime.js";
import { listenAddress } from "../util/host-port.js";

export interface DevFileApiOptions {
  /** The folder served; created when missing. */
  dir: string;
  /** `host:port`, `[v6]:port` or `:port`; port 0 picks a free port. */
  listen: string;
  /** When set (and not empty), requests must carry `Authorization: Bearer <token>`, else 401. */
  token?: string | undefined;
}

export interface DevFileApiRequest {
  method: string;
  /** The decoded ref, when the path was a file route. */
  ref?: string;
  status: number;
  /** The `X-Cozy-Owner` header. */
  owner?: string;
  at: number;
}

export interface DevFileApi {
  /** `http://<host>:<port>` a process on this machine can reach (127.0.0.1 / [::1] for wildcard binds). */
  url: string;
  /** The bound host, as listened on. */
  host: string;
  port: number;
  /** The real path of the folder served. */
  dir: string;
  /** Every request answered, in order. */
  requests: DevFileApiRequest[];
  close(): Promise<void>;
}

/** What writes answer with (JSON). */
export interface StoredFile {
  ref: string;
  size_bytes: number;
  sha256: string;
  mime_type: string;
}

const ROUTE_PREFIX = "/api/v1/file/";
const CONFLICT_CODES = new Set(["EEXIST", "ENOTDIR", "EISDIR", "ENOTEMPTY"]);

export async function startDevFileApi(options: DevFileApiOptions): Promise<DevFileApi> {
  const { host, port } = listenAddress(options.listen, 8081);
  await mkdir(options.dir, { recursive: true });
  const root = await realpath(options.dir);
  const token = options.token === "" ? undefined : options.token;
  const requests: DevFileApiRequest[] = [];
  const hashes = new HashCache();

  const server = createServer((req, res) => {
    const record: DevFileApiRequest = { method: req.method ?? "", status: 0, at: Date.now() };
    const owner = req.headers["x-cozy-owner"];
    if (typeof owner === "string") record.owner = owner;
    res.on("finish", () => {
      record.status = res.statusCode;
      requests.push(record);
    });
    handle(req, res, { root, token, hashes, record }).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  await listen(server, port, host);
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${reachableHost(host)}:${bound}`,
    host,
    port: bound,
    dir: root,
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** The host a client on this machine dials for a server bound to `host`, bracketed when IPv6. */
export function reachableHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "[::1]";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

interface Context {
  root: string;
  token: string | undefined;
  hashes: HashCache;
  record: DevFileApiRequest;
}

async function handle(req: IncomingMessage, res: ServerResponse, context: Context): Promise<void> {
  const path = (req.url ?? "").split("?")[0] ?? "";
  if (!path.startsWith(ROUTE_PREFIX)) return drainAnd(req, () => sendJson(res, 404, { error: "not found" }));
  if (context.token !== undefined && req.headers.authorization !== `Bearer ${context.token}`) {
    return drainAnd(req, () => sendJson(res, 401, { error: "unauthorized" }));
  }
  const ref = decodeRef(path.slice(ROUTE_PREFIX.length));
  if (ref !== undefined) context.record.ref = ref;
  const target = ref === undefined ? undefined : await resolveInside(context.root, ref);
  if (ref === undefined || target === undefined) {
    return drainAnd(req, () => sendJson(res, 404, { error: "not found" }));
  }
  switch (req.method) {
    case "PUT":
    case "POST":
      return write(req, res, { ref, target, createOnly: req.method === "POST", hashes: context.hashes });
    case "GET":
    case "HEAD":
      return read(req, res, target, context.hashes);
    default:
      res.setHeader("allow", "GET, HEAD, PUT, POST");
      return drainAnd(req, () => sendJson(res, 405, { error: "method not allowed" }));
  }
}

async function write(
  req: IncomingMessage,
  res: ServerResponse,
  options: { ref: string; target: string; createOnly: boolean; hashes: HashCache },
): Promise<void> {
  const { ref, target, createOnly } = options;
  const conflict = (error: unknown) => {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === undefined || !CONFLICT_CODES.has(code)) throw error;
    const message = code === "EEXIST" && createOnly ? "file already exists" : `conflict: ${code}`;
    drainAnd(req, () => sendJson(res, 409, { error: message }));
  };
  if (createOnly && (await fileExists(target)))
    return conflict(Object.assign(new Error(), { code: "EEXIST" }));
  try {
    await mkdir(dirname(target), { recursive: true });
  } catch (error) {
    return conflict(error);
  }
  const temp = join(dirname(target), `.${basename(target)}.${randomUUID()}.part`);
  const handle = await open(temp, "wx");
  const hash = createHash("sha256");
  const head: Buffer[] = [];
  let size = 0;
  try {
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        if (size < SNIFF_BYTES) head.push(chunk.subarray(0, SNIFF_BYTES - size));
        size += chunk.length;
        hash.update(chunk);
        await handle.write(chunk);
      }
    } finally {
      await handle.close();
    }
    try {
      if (createOnly) await link(temp, target);
      else await rename(temp, target);
    } catch (error) {
      return conflict(error);
    }
  } finally {
    await unlink(temp).catch(() => {});
  }
  const sha256 = hash.digest("hex");
  const written = await stat(target);
  options.hashes.remember(target, written, sha256);
  const stored: StoredFile = {
    ref,
    size_bytes: size,
    sha256,
    mime_type: sniffMime(Buffer.concat(head), ref),
  };
  sendJson(res, createOnly ? 201 : 200, stored);
}

async function read(req: IncomingMessage, res: ServerResponse, target: string, hashes: HashCache) {
  const info = await stat(target).catch(() => undefined);
  if (info === undefined || !info.isFile()) return sendJson(res, 404, { error: "not found" });
  const sha256 = await hashes.sha256(target, info);
  const mime = await sniffFileMime(target);
  res.writeHead(200, {
    "content-type": mime,
    "content-length": info.size,
    "cache-control": "no-store",
    "x-cozy-sha256": sha256,
    "x-cozy-size-bytes": String(info.size),
    "x-cozy-mime-type": mime,
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  await pipeline(createReadStream(target), res);
}

/** Percent-decodes each `/`-separated segment; undefined for bad encoding, NUL or an empty ref. */
function decodeRef(encoded: string): string | undefined {
  try {
    const ref = encoded.split("/").map(decodeURIComponent).join("/");
    return ref === "" || ref.includes("\0") ? undefined : ref;
  } catch {
    return undefined;
  }
}

/**
 * The path of `ref` under `root`, or undefined when it escapes it: lexically (`..`, absolute refs),
 * or through a symbolic link (the real path of the deepest existing part must stay inside).
 */
async function resolveInside(root: string, ref: string): Promise<string | undefined> {
  const target = resolve(root, ref);
  if (!target.startsWith(root + sep)) return undefined;
  let existing = target;
  for (;;) {
    try {
      const real = await realpath(existing);
      const inside =
        existing === target ? real.startsWith(root + sep) : real === root || real.startsWith(root + sep);
      return inside ? target : undefined;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== "ENOENT" && code !== "ENOTDIR") || existing === root) return undefined;
      existing = dirname(existing);
    }
  }
}

/** sha256 of files, remembered while their size and mtime stay the same. */
class HashCache {
  private readonly entries = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

  remember(path: string, info: { size: number; mtimeMs: number }, sha256: string): void {
    this.entries.set(path, { size: info.size, mtimeMs: info.mtimeMs, sha256 });
  }

  async sha256(path: string, info: { size: number; mtimeMs: number }): Promise<string> {
    const cached = this.entries.get(path);
    if (cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs) return cached.sha256;
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const sha256 = hash.digest("hex");
    this.remember(path, info, sha256);
    return sha256;
  }
}

async function fileExists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Answers once the request body has been read (and dropped), so the connection stays usable. */
function drainAnd(req: IncomingMessage, answer: () => void): void {
  if (req.readableEnded) {
    answer();
    return;
  }
  let answered = false;
  const once = () => {
    if (answered) return;
    answered = true;
    answer();
  };
  req.once("end", once);
  req.once("error", once);
  req.resume();
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((done, fail) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      fail(
        Object.assign(new Error(`cannot listen on ${host}:${port}: ${error.message}`), { code: error.code }),
      ),
    );
    server.listen(port, host, () => done());
  });
}
