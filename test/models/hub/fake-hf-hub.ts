import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative, sep } from "node:path";

/** Faults the hub injects into `resolve` (file) answers; counters go down as they are used. */
export interface HubFaults {
  /** Only these repo paths are affected (all files when unset). */
  paths?: string[];
  /** Send the headers of the whole answer, then only this many body bytes, then cut the connection. */
  truncateAfter?: number;
  /** How many answers are truncated (default: every one while `truncateAfter` is set). */
  truncateTimes?: number;
  /** Answer 503 (with `Retry-After: 0`) to this many file requests. */
  fail503?: number;
  /** Answer 200 with the whole file even to a Range request. */
  ignoreRange?: boolean;
  /** Serve the file with a byte flipped (same size, wrong hash). */
  wrongBytes?: boolean;
  /** Wait this long before sending a file's body (slow server). */
  delayMs?: number;
  /** Answer 503 to this many listing requests. */
  listing503?: number;
}

export interface FakeHubRequest {
  method: string;
  path: string;
  range: string | undefined;
  authorization: string | undefined;
  status: number;
}

export interface FakeHfHub {
  /** `http://127.0.0.1:<port>`: the value of `HF_ENDPOINT`. */
  endpoint: string;
  /** Mutable: change it between requests. */
  faults: HubFaults;
  /** When set, requests need `Authorization: Bearer <token>` (401 without one, 403 with another). */
  requireToken: string | undefined;
  requests: FakeHubRequest[];
  /** The commit sha the hub gives `<owner>/<repo>` (a hash of its files). */
  commitOf(repo: string): Promise<string>;
  close(): Promise<void>;
}

/** Files bigger than this carry an `lfs` block in the listing, as on the real hub. */
export const LFS_THRESHOLD = 1024;

interface RepoFile {
  path: string;
  size: number;
  sha256: string;
}

/**
 * A Hugging Face hub on 127.0.0.1 serving the repos under `root` (`<root>/<owner>/<repo>/...`):
 * `GET /api/models/<owner>/<repo>/revision/<rev>?blobs=true` and `GET /<owner>/<repo>/resolve/<rev>/<path>`.
 * A repo has one commit, a hash of its files; `main` and that sha are its revisions.
 */
export async function startFakeHfHub(root: string): Promise<FakeHfHub> {
  const requests: FakeHubRequest[] = [];
  const hub = {
    faults: {} as HubFaults,
    requireToken: undefined as string | undefined,
  };

  const server = createServer((req, res) => {
    const entry: FakeHubRequest = {
      method: req.method ?? "GET",
      path: req.url ?? "",
      range: req.headers.range,
      authorization: req.headers.authorization,
      status: 0,
    };
    requests.push(entry);
    res.on("finish", () => {
      entry.status = res.statusCode;
    });
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(error) });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (hub.requireToken !== undefined) {
      const auth = req.headers.authorization;
      if (auth === undefined)
        return sendJson(res, 401, { error: "Invalid credentials in Authorization header" });
      if (auth !== `Bearer ${hub.requireToken}`) {
        return sendJson(res, 403, { error: "Access to this model is restricted" });
      }
    }
    const segments = url.pathname.split("/").slice(1).map(decodeURIComponent);
    if (segments[0] === "api" && segments[1] === "models" && segments[4] === "revision") {
      const repo = `${segments[2]}/${segments[3]}`;
      return listing(res, repo, segments.slice(5).join("/"));
    }
    if (segments[2] === "resolve" && segments.length >= 5) {
      const repo = `${segments[0]}/${segments[1]}`;
      return resolveFile(req, res, repo, segments[3] ?? "", segments.slice(4).join("/"));
    }
    sendJson(res, 404, { error: "Not found" });
  }

  async function listing(res: ServerResponse, repo: string, revision: string): Promise<void> {
    const faults = hub.faults;
    if ((faults.listing503 ?? 0) > 0) {
      faults.listing503 = (faults.listing503 ?? 0) - 1;
      return sendJson(res, 503, { error: "Service unavailable" }, { "retry-after": "0" });
    }
    const files = await repoFiles(repo);
    if (files === undefined) {
      return sendJson(res, 404, { error: "Repository not found" }, { "x-error-code": "RepoNotFound" });
    }
    const commit = commitHash(files);
    if (revision !== "main" && revision !== commit) {
      return sendJson(
        res,
        404,
        { error: `Invalid rev id: ${revision}` },
        { "x-error-code": "RevisionNotFound" },
      );
    }
    const siblings = files.map((file) =>
      file.size > LFS_THRESHOLD
        ? { rfilename: file.path, size: file.size, lfs: { sha256: file.sha256, size: file.size } }
        : { rfilename: file.path, size: file.size },
    );
    sendJson(res, 200, { id: repo, modelId: repo, sha: commit, siblings });
  }

  async function resolveFile(
    req: IncomingMessage,
    res: ServerResponse,
    repo: string,
    revision: string,
    path: string,
  ): Promise<void> {
    const files = await repoFiles(repo);
    if (files === undefined) return sendJson(res, 404, { error: "Repository not found" });
    if (revision !== "main" && revision !== commitHash(files)) {
      return sendJson(res, 404, { error: `Invalid rev id: ${revision}` });
    }
    const file = files.find((candidate) => candidate.path === path);
    if (file === undefined) return sendJson(res, 404, { error: "Entry not found" });

    const faults = hub.faults;
    const affected = faults.paths === undefined || faults.paths.includes(path);
    if (affected && (faults.fail503 ?? 0) > 0) {
      faults.fail503 = (faults.fail503 ?? 0) - 1;
      return sendJson(res, 503, { error: "Service unavailable" }, { "retry-after": "0" });
    }
    if (affected && (faults.delayMs ?? 0) > 0)
      await new Promise((resolve) => setTimeout(resolve, faults.delayMs));
    let content = await readFile(join(root, repo, ...path.split("/")));
    if (affected && faults.wrongBytes && content.length > 0) {
      content = Buffer.from(content);
      content[content.length >> 1] = (content[content.length >> 1] ?? 0) ^ 0xff;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const honourRange = range !== null && !(affected && faults.ignoreRange);
    if (honourRange) {
      start = Number(range[1]);
      if (start >= content.length) {
        res.writeHead(416, { "content-range": `bytes */${content.length}` });
        res.end();
        return;
      }
      res.writeHead(206, {
        "content-type": "application/octet-stream",
        "content-length": String(content.length - start),
        "content-range": `bytes ${start}-${content.length - 1}/${content.length}`,
        "accept-ranges": "bytes",
      });
    } else {
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": String(content.length),
        "accept-ranges": "bytes",
        etag: `"${file.sha256}"`,
      });
    }
    const body = content.subarray(start);
    const truncating =
      affected &&
      faults.truncateAfter !== undefined &&
      (faults.truncateTimes === undefined || faults.truncateTimes > 0) &&
      faults.truncateAfter < body.length;
    if (truncating) {
      if (faults.truncateTimes !== undefined) faults.truncateTimes -= 1;
      res.write(body.subarray(0, faults.truncateAfter), () => {
        setTimeout(() => res.destroy(), 20);
      });
      return;
    }
    res.end(body);
  }

  async function repoFiles(repo: string): Promise<RepoFile[] | undefined> {
    const dir = join(root, ...repo.split("/"));
    try {
      if (!(await stat(dir)).isDirectory()) return undefined;
    } catch {
      return undefined;
    }
    const files: RepoFile[] = [];
    for (const path of await walk(dir)) {
      const content = await readFile(path);
      files.push({
        path: relative(dir, path).split(sep).join("/"),
        size: content.length,
        sha256: createHash("sha256").update(content).digest("hex"),
      });
    }
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get faults() {
      return hub.faults;
    },
    set faults(value: HubFaults) {
      hub.faults = value;
    },
    get requireToken() {
      return hub.requireToken;
    },
    set requireToken(value: string | undefined) {
      hub.requireToken = value;
    },
    requests,
    async commitOf(repo) {
      const files = await repoFiles(repo);
      if (files === undefined) throw new Error(`no repo ${repo} under ${root}`);
      return commitHash(files);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function commitHash(files: readonly RepoFile[]): string {
  const hash = createHash("sha1");
  for (const file of files) hash.update(`${file.path}\0${file.sha256}\n`);
  return hash.digest("hex");
}

async function walk(dir: string): Promise<string[]> {
  const result: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) result.push(...(await walk(path)));
    else if (entry.isFile()) result.push(path);
  }
  return result;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}
