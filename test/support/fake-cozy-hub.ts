import { createHmac } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { blake3 } from "@napi-rs/blake-hash";
import { createLoggingServer, type HubRequest, sendJson } from "../../scripts/hf-hub.mjs";
import type { ResolvedCozyModel } from "../../src/contract/scheduler.js";

/**
 * Faults the blob server injects (presigned downloads only; the API is never faulty unless asked).
 * Counters go down as they are used; `paths` limits them to those snapshot paths.
 */
export interface BlobFaults {
  paths?: string[];
  /** End the body cleanly (chunked, no Content-Length) after this many bytes. */
  truncateAfter?: number;
  /** Send Content-Length, this many bytes, then destroy the connection. */
  dropAfter?: number;
  /** How many answers the two faults above spoil (default: all). */
  times?: number;
  /** Answer 200 with the whole file even to a Range request. */
  ignoreRange?: boolean;
  /** Serve different bytes of the same size (a wrong blake3). */
  wrongBytes?: boolean;
  /** Answer every blob request with this status (401, 403...). */
  status?: number;
  /** Send the body in 16 KiB pieces, waiting this long before each (a slow server). */
  trickleMs?: number;
}

export type CozyHubRequest = HubRequest;

export interface FakeCozyFile {
  path: string;
  content: Buffer;
}

interface StoredFile {
  path: string;
  content: Buffer;
  blake3: string;
}

export interface FakeCozyHub {
  /** `http://127.0.0.1:<port>`: the value of `COZY_HUB_URL`. */
  url: string;
  faults: BlobFaults;
  /** When set, API calls need `Authorization: Bearer <token>` (401 without one, 403 with another). */
  requireToken: string | undefined;
  /** Answer `resolve_artifact` with 409 (no compatible artifact). */
  noCompatibleArtifact: boolean;
  requests: CozyHubRequest[];
  /** Most blob downloads in progress at once. */
  readonly maxActiveBlobs: number;
  /** Publishes `files` as `<owner>/<repo>:<tag>`; returns the snapshot digest (`blake3:<tree hash>`). */
  publish(repo: string, tag: string, files: FakeCozyFile[]): Promise<string>;
  /** What the orchestrator sends for `<repo>:<tag>`: presigned URLs valid for `ttlMs` (negative: expired). */
  resolved(repo: string, tag: string, options?: { ttlMs?: number }): ResolvedCozyModel;
  /** Blob requests for one snapshot path. */
  blobRequests(path: string): CozyHubRequest[];
  close(): Promise<void>;
}

const SECRET = "fake-cozy-hub-signing-key";

/**
 * Cozy Hub on 127.0.0.1, speaking the v2 API: `POST
 * /api/v1/repos/{owner}/{repo}/resolve_artifact` and `GET .../snapshots/{digest}/manifest`, with
 * presigned blob URLs `GET /blobs/<blake3>?expires=<ms>&sig=<hmac>` that answer 403 once expired, as
 * object stores do.
 */
export async function startFakeCozyHub(): Promise<FakeCozyHub> {
  const requests: CozyHubRequest[] = [];
  const repos = new Map<string, { digest: string; files: StoredFile[] }>();
  const blobs = new Map<string, StoredFile>();
  const state = {
    faults: {} as BlobFaults,
    requireToken: undefined as string | undefined,
    noCompatibleArtifact: false,
    activeBlobs: 0,
    maxActiveBlobs: 0,
  };
  let origin = "";

  const sign = (hex: string, expires: number) =>
    createHmac("sha256", SECRET).update(`${hex}:${expires}`).digest("hex");

  const manifestFiles = (files: StoredFile[], ttlMs: number) => {
    const expires = Date.now() + ttlMs;
    return files.map((file) => ({
      path: file.path,
      size_bytes: file.content.length,
      blake3: file.blake3,
      url: `${origin}/blobs/${file.blake3}?expires=${expires}&sig=${sign(file.blake3, expires)}`,
    }));
  };

  const server = createLoggingServer(requests, handle);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const segments = url.pathname.split("/").slice(1).map(decodeURIComponent);
    if (segments[0] === "blobs" && segments.length === 2) return serveBlob(req, res, url, segments[1] ?? "");
    if (segments[0] !== "api" || segments[1] !== "v1" || segments[2] !== "repos") {
      return sendJson(res, 404, { error: "not found" });
    }
    if (state.requireToken !== undefined) {
      const auth = req.headers.authorization;
      if (auth === undefined) return sendJson(res, 401, { error: "missing bearer token" });
      if (auth !== `Bearer ${state.requireToken}`) return sendJson(res, 403, { error: "forbidden" });
    }
    const repo = `${segments[3]}/${segments[4]}`;
    const rest = segments.slice(5);
    if (req.method === "POST" && rest.length === 1 && rest[0] === "resolve_artifact") {
      const body = JSON.parse((await readBody(req)) || "{}") as { tag?: string; include_urls?: boolean };
      if (state.noCompatibleArtifact) {
        return sendJson(res, 409, {
          error: "no compatible artifact",
          debug: { candidates: ["safetensors-bf16"] },
        });
      }
      const published = repos.get(`${repo}:${body.tag ?? "latest"}`);
      if (published === undefined) return sendJson(res, 404, { error: `tag not found in ${repo}` });
      const files = manifestFiles(published.files, 60_000).map((file) =>
        body.include_urls ? file : { ...file, url: undefined },
      );
      return sendJson(res, 200, {
        repo_revision_seq: 1,
        snapshot_digest: published.digest,
        artifact: { label: "onnx-fp32", file_layout: "onnx", file_type: "onnx", quantization: "fp32" },
        snapshot_manifest: { version: 2, files },
      });
    }
    if (req.method === "GET" && rest.length === 3 && rest[0] === "snapshots" && rest[2] === "manifest") {
      const digest = rest[1] ?? "";
      const published = [...repos.entries()].find(
        ([key, value]) => key.startsWith(`${repo}:`) && value.digest === digest,
      )?.[1];
      if (published === undefined) return sendJson(res, 404, { error: "snapshot not found" });
      return sendJson(res, 200, { snapshot_digest: digest, files: manifestFiles(published.files, 60_000) });
    }
    sendJson(res, 404, { error: "not found" });
  }

  async function serveBlob(req: IncomingMessage, res: ServerResponse, url: URL, hex: string): Promise<void> {
    const file = blobs.get(hex);
    const expires = Number(url.searchParams.get("expires"));
    if (file === undefined) return sendXml(res, 404, "NoSuchKey", "The specified key does not exist.");
    if (url.searchParams.get("sig") !== sign(hex, expires)) {
      return sendXml(
        res,
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match.",
      );
    }
    if (!(expires > Date.now())) return sendXml(res, 403, "AccessDenied", "Request has expired");
    const faults = state.faults;
    const affected = faults.paths === undefined || faults.paths.includes(file.path);
    if (affected && faults.status !== undefined) {
      return sendXml(res, faults.status, "AccessDenied", `status ${faults.status}`);
    }
    let content = file.content;
    if (affected && faults.wrongBytes) {
      content = Buffer.from(content);
      const middle = content.length >> 1;
      content[middle] = (content[middle] ?? 0) ^ 0xff;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      "accept-ranges": "bytes",
    };
    let status = 200;
    if (range !== null && !(affected && faults.ignoreRange)) {
      start = Number(range[1]);
      if (start >= content.length) {
        res.writeHead(416, { "content-range": `bytes */${content.length}` });
        res.end();
        return;
      }
      status = 206;
      headers["content-range"] = `bytes ${start}-${content.length - 1}/${content.length}`;
    }
    const body = content.subarray(start);
    const spoil =
      affected &&
      (faults.truncateAfter !== undefined || faults.dropAfter !== undefined) &&
      (faults.times === undefined || faults.times > 0);
    if (spoil && faults.times !== undefined) faults.times -= 1;

    state.activeBlobs += 1;
    state.maxActiveBlobs = Math.max(state.maxActiveBlobs, state.activeBlobs);
    res.on("close", () => {
      state.activeBlobs -= 1;
    });
    if (spoil && faults.truncateAfter !== undefined && faults.truncateAfter < body.length) {
      // No Content-Length: a chunked body that ends cleanly, short.
      res.writeHead(status, headers);
      res.end(body.subarray(0, faults.truncateAfter));
      return;
    }
    res.writeHead(status, { ...headers, "content-length": String(body.length) });
    if (spoil && faults.dropAfter !== undefined && faults.dropAfter < body.length) {
      res.write(body.subarray(0, faults.dropAfter), () => {
        setTimeout(() => res.destroy(), 20);
      });
      return;
    }
    if (affected && faults.trickleMs !== undefined) {
      for (let at = 0; at < body.length && !res.destroyed; at += 16 * 1024) {
        await new Promise((resolve) => setTimeout(resolve, faults.trickleMs));
        res.write(body.subarray(at, at + 16 * 1024));
      }
      res.end();
      return;
    }
    res.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: origin,
    get faults() {
      return state.faults;
    },
    set faults(value: BlobFaults) {
      state.faults = value;
    },
    get requireToken() {
      return state.requireToken;
    },
    set requireToken(value: string | undefined) {
      state.requireToken = value;
    },
    get noCompatibleArtifact() {
      return state.noCompatibleArtifact;
    },
    set noCompatibleArtifact(value: boolean) {
      state.noCompatibleArtifact = value;
    },
    get maxActiveBlobs() {
      return state.maxActiveBlobs;
    },
    requests,
    async publish(repo, tag, files) {
      const stored: StoredFile[] = [];
      for (const file of files) {
        const hex = blake3(file.content).toString("hex");
        stored.push({ path: file.path, content: file.content, blake3: hex });
        blobs.set(hex, stored.at(-1) as StoredFile);
      }
      stored.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      const digest = `blake3:${await treeHash(stored)}`;
      repos.set(`${repo}:${tag}`, { digest, files: stored });
      return digest;
    },
    resolved(repo, tag, options = {}) {
      const published = repos.get(`${repo}:${tag}`);
      if (published === undefined) throw new Error(`nothing published as ${repo}:${tag}`);
      return {
        snapshot_digest: published.digest,
        files: manifestFiles(published.files, options.ttlMs ?? 60_000),
      };
    },
    blobRequests(path) {
      const hexes = new Set(
        [...blobs.values()].filter((file) => file.path === path).map((file) => file.blake3),
      );
      return requests.filter((request) => hexes.has(request.path.split("?")[0]?.split("/")[2] ?? ""));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The reference's tree hash (9.6): blake3 over `path \t size \t hex \n`, sorted by path. */
async function treeHash(files: readonly StoredFile[]): Promise<string> {
  const lines = [...files]
    .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
    .map((file) => `${file.path}\t${file.content.length}\t${file.blake3}\n`)
    .join("");
  return blake3(lines).toString("hex");
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** An object store's error answer. */
function sendXml(res: ServerResponse, status: number, code: string, message: string): void {
  const text = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, {
    "content-type": "application/xml",
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}
