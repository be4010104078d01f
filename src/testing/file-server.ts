/**
 * The Cozy file API in memory, on loopback, for one test kit: the runtime downloads input Assets
 * and uploads saved outputs through it exactly as it does in production
 * (`/api/v1/file/<ref>`: HEAD and GET with the `X-Cozy-*` headers, PUT upserts, POST creates).
 * Files come from memory (added or uploaded) or, read on demand, from a folder.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFile, realpath, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve, sep } from "node:path";
import { sniffMime } from "../runtime/files/mime.js";

const ROUTE = "/api/v1/file/";

interface Stored {
  bytes: Uint8Array;
  sha256: string;
  mime: string;
}

export class MemoryFileApi {
  readonly token = randomBytes(16).toString("hex");
  private readonly files = new Map<string, Stored>();
  private server: Server | undefined;
  private base = "";

  /** @param folder served read-only below the files in memory, if given */
  constructor(private readonly folder?: string) {}

  get url(): string {
    return this.base;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (res.headersSent) res.destroy();
        else reply(res, 500, { error: (error as Error).message });
      });
    });
    await new Promise<void>((done, fail) => {
      server.once("error", fail);
      server.listen(0, "127.0.0.1", () => done());
    });
    this.server = server;
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Serves `bytes` under `ref` (replacing what was there). */
  put(ref: string, bytes: Uint8Array): void {
    const copy = new Uint8Array(bytes);
    this.files.set(ref, {
      bytes: copy,
      sha256: createHash("sha256").update(copy).digest("hex"),
      mime: sniffMime(copy, ref),
    });
  }

  has(ref: string): boolean {
    return this.files.has(ref);
  }

  /** The files stored under `prefix`, by the rest of their ref. */
  filesUnder(prefix: string): Record<string, Uint8Array> {
    const found: Record<string, Uint8Array> = {};
    for (const [ref, file] of this.files)
      if (ref.startsWith(prefix)) found[ref.slice(prefix.length)] = file.bytes;
    return found;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "").split("?")[0] ?? "";
    const ref = path.startsWith(ROUTE) ? decodeRef(path.slice(ROUTE.length)) : undefined;
    if (req.headers.authorization !== `Bearer ${this.token}`) return drained(req, res, 401);
    if (ref === undefined) return drained(req, res, 404);
    if (req.method === "PUT" || req.method === "POST") {
      const body = await readBody(req);
      if (req.method === "POST" && (this.files.has(ref) || (await this.fromFolder(ref)))) {
        return reply(res, 409, { error: "file already exists" });
      }
      this.put(ref, body);
      const stored = this.files.get(ref) as Stored;
      return reply(res, 200, {
        ref,
        size_bytes: stored.bytes.byteLength,
        sha256: stored.sha256,
        mime_type: stored.mime,
      });
    }
    if (req.method !== "GET" && req.method !== "HEAD") return drained(req, res, 405);
    const file = this.files.get(ref) ?? (await this.fromFolder(ref));
    if (!file) return drained(req, res, 404);
    res.writeHead(200, {
      "content-type": file.mime,
      "content-length": file.bytes.byteLength,
      "x-cozy-sha256": file.sha256,
      "x-cozy-size-bytes": String(file.bytes.byteLength),
      "x-cozy-mime-type": file.mime,
    });
    res.end(req.method === "GET" ? file.bytes : undefined);
  }

  /** A file of the served folder; never one outside it. */
  private async fromFolder(ref: string): Promise<Stored | undefined> {
    if (this.folder === undefined) return undefined;
    try {
      const root = await realpath(this.folder);
      const target = await realpath(resolve(root, ref));
      if (!target.startsWith(root + sep) || !(await stat(target)).isFile()) return undefined;
      const bytes = new Uint8Array(await readFile(target));
      return { bytes, sha256: createHash("sha256").update(bytes).digest("hex"), mime: sniffMime(bytes, ref) };
    } catch {
      return undefined;
    }
  }
}

function decodeRef(encoded: string): string | undefined {
  try {
    const ref = encoded.split("/").map(decodeURIComponent).join("/");
    return ref === "" ? undefined : ref;
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

function drained(req: IncomingMessage, res: ServerResponse, status: number): void {
  req.resume();
  reply(res, status, {
    error: status === 401 ? "unauthorized" : status === 405 ? "bad method" : "not found",
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
