// A Hugging Face hub on loopback that serves the repos of a folder (`<root>/<owner>/<repo>/...`)
// through the two routes gen-worker uses: the revision listing and `resolve`. The public hub is out
// of reach here, so demos, benches and tests download from this one; tests also inject faults.
//
//   node scripts/hf-hub.mjs <folder> [--port 8090]     then  HF_ENDPOINT=http://127.0.0.1:8090
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { join, relative, resolve as resolvePath, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** Files bigger than this carry an `lfs` block in the listing, as on the real hub. */
export const LFS_THRESHOLD = 1024;

/**
 * A Hugging Face hub on 127.0.0.1 serving the repos under `root` (`<root>/<owner>/<repo>/...`):
 * `GET /api/models/<owner>/<repo>/revision/<rev>?blobs=true` and `GET /<owner>/<repo>/resolve/<rev>/<path>`.
 * A repo has one commit, a hash of its files; `main` and that sha are its revisions.
 */
export async function startHfHub(root, { port = 0, host = "127.0.0.1" } = {}) {
  const requests = [];
  const hub = {
    faults: {},
    requireToken: undefined,
  };

  const server = createLoggingServer(requests, (req, res) => handle(req, res));

  async function handle(req, res) {
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

  async function listing(res, repo, revision) {
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
    // As on the real hub: `blobId` is the git blob id, of the pointer file for an LFS file.
    const siblings = files.map((file) => {
      const sibling = { rfilename: file.path, size: file.size };
      if (!faults.noBlobIds) sibling.blobId = file.blobId;
      if (file.size > LFS_THRESHOLD) {
        const pointer = lfsPointer(file);
        sibling.lfs = { sha256: file.sha256, size: file.size, pointerSize: pointer.length };
        if (!faults.noBlobIds) sibling.blobId = gitBlobId(pointer);
      }
      return sibling;
    });
    sendJson(res, 200, { id: repo, modelId: repo, sha: commit, siblings });
  }

  async function resolveFile(req, res, repo, revision, path) {
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
    if (honourRange && affected && faults.rangeOtherBytes) content = otherVersion(content);
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

  async function repoFiles(repo) {
    const dir = join(root, ...repo.split("/"));
    try {
      if (!(await stat(dir)).isDirectory()) return undefined;
    } catch {
      return undefined;
    }
    const files = [];
    for (const path of await walk(dir)) {
      const content = await readFile(path);
      files.push({
        path: relative(dir, path).split(sep).join("/"),
        size: content.length,
        sha256: createHash("sha256").update(content).digest("hex"),
        blobId: gitBlobId(content),
      });
    }
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  await new Promise((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  return {
    endpoint: `http://${host}:${address.port}`,
    get faults() {
      return hub.faults;
    },
    set faults(value) {
      hub.faults = value;
    },
    get requireToken() {
      return hub.requireToken;
    },
    set requireToken(value) {
      hub.requireToken = value;
    },
    requests,
    async commitOf(repo) {
      const files = await repoFiles(repo);
      if (files === undefined) throw new Error(`no repo ${repo} under ${root}`);
      return commitHash(files);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What `git hash-object` gives: sha1 of `blob <size>\0` and the content. */
export function gitBlobId(content) {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/** The LFS pointer file git stores in place of a large file. */
function lfsPointer(file) {
  return Buffer.from(
    `version https://git-lfs.github.com/spec/v1\noid sha256:${file.sha256}\nsize ${file.size}\n`,
  );
}

/** Bytes of the same length as `content` that are not it, as another version of the file would be. */
function otherVersion(content) {
  return Buffer.from(content.map((byte) => byte ^ 0x5a));
}

function commitHash(files) {
  const hash = createHash("sha1");
  for (const file of files) hash.update(`${file.path}\0${file.sha256}\n`);
  return hash.digest("hex");
}

async function walk(dir) {
  const result = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) result.push(...(await walk(path)));
    else if (entry.isFile()) result.push(path);
  }
  return result;
}

/**
 * An HTTP server whose every request is appended to `requests` (its status filled in when the
 * answer is sent) and answered by `handle`; a handler that throws answers 500, or cuts the
 * connection once the headers are out.
 */
export function createLoggingServer(requests, handle) {
  return createServer((req, res) => {
    const entry = {
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
    handle(req, res).catch((error) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(error) });
      else res.destroy();
    });
  });
}

/** A JSON answer with its length. */
export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

if (process.argv[1] && resolvePath(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { port: { type: "string", default: "8090" } },
  });
  const root = positionals[0];
  if (!root) {
    console.error("usage: node scripts/hf-hub.mjs <folder of owner/repo folders> [--port 8090]");
    process.exit(2);
  }
  const hub = await startHfHub(resolvePath(root), { port: Number(values.port) });
  console.log(`Hugging Face hub for ${root} on ${hub.endpoint}: export HF_ENDPOINT=${hub.endpoint}`);
}
