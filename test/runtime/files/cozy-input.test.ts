import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthError, ResourceError, RetryableError, ValidationError } from "../../../src/contract/errors.js";
import { downloadCozyRef } from "../../../src/runtime/files/cozy-input.js";
import { FILE_API_REQUIRED_MESSAGE, FileApiClient } from "../../../src/runtime/files/file-api.js";
import { InputCache } from "../../../src/runtime/files/input-cache.js";
import { mountSmallDisk } from "../../support/small-disk.js";
import {
  expectRejection,
  type FakeFileApi,
  type FakeFileApiOptions,
  makeTempDir,
  PNG_BYTES,
  sha256,
  startFakeFileApi,
} from "./servers.js";

let dir: { path: string; remove(): Promise<void> };
let server: FakeFileApi | undefined;

beforeEach(async () => {
  dir = await makeTempDir();
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await dir.remove();
});

async function setup(options: FakeFileApiOptions = {}) {
  server = await startFakeFileApi({ token: "t0k", ...options });
  const api = new FileApiClient({ baseUrl: server.origin, token: "t0k", owner: "tenant-1" });
  const paths = { runInputsDir: join(dir.path, "run-1", "inputs"), cacheDir: join(dir.path, "cache") };
  return { server, api, paths };
}

const methods = (api: FakeFileApi) => api.requests.map((request) => request.method);

describe("downloadCozyRef", () => {
  it("HEADs then GETs with bearer and owner, caches by sha256 and links into the run", async () => {
    const { server, api, paths } = await setup();
    server.files.set("uploads/cat.png", { data: PNG_BYTES, mimeType: "image/png" });
    const info = await downloadCozyRef("uploads/cat.png", { api, ...paths, maxBytes: 1 << 20 });

    const key = sha256(PNG_BYTES).slice(0, 32);
    expect(info).toEqual({
      ref: "uploads/cat.png",
      localPath: join(paths.runInputsDir, `${key}.png`),
      mimeType: "image/png",
      sizeBytes: PNG_BYTES.byteLength,
      sha256: sha256(PNG_BYTES),
    });
    expect(methods(server)).toEqual(["HEAD", "GET"]);
    for (const request of server.requests) {
      expect(request.url).toBe("/api/v1/file/uploads/cat.png");
      expect(request.headers.authorization).toBe("Bearer t0k");
      expect(request.headers["x-cozy-owner"]).toBe("tenant-1");
    }
    const cached = await stat(join(paths.cacheDir, `${key}.png`));
    const linked = await stat(info.localPath ?? "");
    expect(linked.ino).toBe(cached.ino);
    expect(await readFile(info.localPath ?? "")).toEqual(PNG_BYTES);
  });

  it("does not GET again when the content is cached", async () => {
    const { server, api, paths } = await setup();
    server.files.set("u/a.png", { data: PNG_BYTES });
    await downloadCozyRef("u/a.png", { api, ...paths, maxBytes: 0 });
    const second = await downloadCozyRef("u/a.png", {
      api,
      ...paths,
      runInputsDir: join(dir.path, "run-2", "inputs"),
      maxBytes: 0,
    });
    expect(methods(server)).toEqual(["HEAD", "GET", "HEAD"]);
    expect(second.localPath).toBe(join(dir.path, "run-2", "inputs", `${sha256(PNG_BYTES).slice(0, 32)}.png`));
    expect(second.mimeType).toBe("image/png");
    expect(await readFile(second.localPath ?? "")).toEqual(PNG_BYTES);
  });

  it("takes the extension from the mime type when the ref has none", async () => {
    const { server, api, paths } = await setup();
    server.files.set("u/blob", { data: Buffer.from("RIFF....WEBPVP8 "), mimeType: "image/webp" });
    const info = await downloadCozyRef("u/blob", { api, ...paths, maxBytes: 0 });
    expect(info.localPath?.endsWith(".webp")).toBe(true);
  });

  it("refuses a file whose announced size is over the cap, without GET", async () => {
    const { server, api, paths } = await setup();
    server.files.set("u/big.bin", { data: Buffer.alloc(5000) });
    await expectRejection(
      downloadCozyRef("u/big.bin", { api, ...paths, maxBytes: 4096 }),
      ResourceError,
      "input file too large: 5000 bytes (max 4096)",
    );
    expect(methods(server)).toEqual(["HEAD"]);
  });

  it("enforces the cap while streaming when HEAD tells no size", async () => {
    const { server, api, paths } = await setup({ cozyHeaders: false });
    server.files.set("u/big.bin", { data: Buffer.alloc(5000) });
    await expectRejection(downloadCozyRef("u/big.bin", { api, ...paths, maxBytes: 4096 }), ResourceError);
    expect(await readdir(paths.cacheDir)).toEqual([]);
  });

  it("refuses content that does not match the announced sha256, caching nothing", async () => {
    const { server, api, paths } = await setup({ headSha256: () => "0".repeat(64) });
    server.files.set("u/a.png", { data: PNG_BYTES });
    await expectRejection(
      downloadCozyRef("u/a.png", { api, ...paths, maxBytes: 0 }),
      RetryableError,
      /checksum/,
    );
    expect(await readdir(paths.cacheDir)).toEqual([]);
  });

  it("downloads again when the file API gives no digest (a ref's content may change)", async () => {
    const { server, api, paths } = await setup({ cozyHeaders: false });
    server.files.set("u/a.txt", { data: Buffer.from("one") });
    const first = await downloadCozyRef("u/a.txt", { api, ...paths, maxBytes: 0 });
    server.files.set("u/a.txt", { data: Buffer.from("two!") });
    const second = await downloadCozyRef("u/a.txt", { api, ...paths, maxBytes: 0 });
    expect(first.localPath).toBe(join(paths.runInputsDir, `${sha256("u/a.txt").slice(0, 32)}.txt`));
    expect(await readFile(second.localPath ?? "", "utf8")).toBe("two!");
    expect(second).toMatchObject({ sizeBytes: 4, sha256: sha256("two!"), mimeType: "text/plain" });
    expect(methods(server)).toEqual(["HEAD", "GET", "HEAD", "GET"]);
  });

  it.each([401, 403])("maps %i on read to AuthError", async (status) => {
    const { server, api, paths } = await setup({ forceStatus: { HEAD: status } });
    server.files.set("u/a", { data: Buffer.from("a") });
    await expectRejection(
      downloadCozyRef("u/a", { api, ...paths, maxBytes: 0 }),
      AuthError,
      `file read unauthorized (${status}): check file_token validity`,
    );
  });

  it("reports a wrong token as AuthError", async () => {
    const { server, paths } = await setup();
    const api = new FileApiClient({ baseUrl: server.origin, token: "stale" });
    await expectRejection(downloadCozyRef("u/a", { api, ...paths, maxBytes: 0 }), AuthError);
  });

  it("reports a missing file", async () => {
    const { api, paths } = await setup();
    await expectRejection(
      downloadCozyRef("u/none.png", { api, ...paths, maxBytes: 0 }),
      ValidationError,
      "input file not found: u/none.png",
    );
  });

  it("names the fix when there is no file API", async () => {
    await expectRejection(
      downloadCozyRef("u/a.png", {
        api: undefined,
        runInputsDir: dir.path,
        cacheDir: dir.path,
        maxBytes: 0,
      }),
      ValidationError,
      FILE_API_REQUIRED_MESSAGE,
    );
  });

  it("refuses refs with dot segments before any request", async () => {
    const { server, api, paths } = await setup();
    await expectRejection(downloadCozyRef("u/../../admin", { api, ...paths, maxBytes: 0 }), ValidationError);
    expect(server.requests).toEqual([]);
  });
});

describe("the Cozy input file cache", () => {
  const SIZE = 1000;
  /** Distinct content for each number, SIZE bytes. */
  const contentOf = (n: number | string) => Buffer.from(`file ${n} `.padEnd(SIZE, "."));
  const cachedName = (data: Buffer) => `${sha256(data).slice(0, 32)}.bin`;

  async function cacheBytes(cacheDir: string): Promise<number> {
    let total = 0;
    for (const name of await readdir(cacheDir)) total += (await stat(join(cacheDir, name))).size;
    return total;
  }

  function runOptions(api: FileApiClient, run: string, cacheMaxBytes: number) {
    return {
      api,
      runInputsDir: join(dir.path, run, "inputs"),
      cacheDir: join(dir.path, "cache"),
      cacheMaxBytes,
      maxBytes: 0,
    };
  }

  it("stays within its cap over 1,000 runs and keeps the most recently used files", async () => {
    const { server, api } = await setup();
    const cap = 10 * SIZE;
    const cacheDir = join(dir.path, "cache");
    server.files.set("u/hot.bin", { data: contentOf("hot") });
    let hotDownloads = 0;
    for (let run = 0; run < 1000; run += 1) {
      server.files.set(`u/in-${run}.bin`, { data: contentOf(run) });
      const options = runOptions(api, `run-${run}`, cap);
      const input = await downloadCozyRef(`u/in-${run}.bin`, options);
      // One file every run uses: each use makes it the most recently used again.
      const hot = await downloadCozyRef("u/hot.bin", options);
      expect((await readFile(input.localPath ?? "")).equals(contentOf(run))).toBe(true);
      expect((await readFile(hot.localPath ?? "")).equals(contentOf("hot"))).toBe(true);
      hotDownloads += server.requests.filter((r) => r.method === "GET" && r.url.endsWith("/hot.bin")).length;
      server.requests.length = 0;
      server.files.delete(`u/in-${run}.bin`);
      // The executor removes a run's folder when the run ends.
      await rm(join(dir.path, `run-${run}`), { recursive: true });
      expect(await cacheBytes(cacheDir)).toBeLessThanOrEqual(cap);
    }
    const kept = [contentOf("hot"), ...[991, 992, 993, 994, 995, 996, 997, 998, 999].map(contentOf)];
    expect((await readdir(cacheDir)).sort()).toEqual(kept.map(cachedName).sort());
    expect(hotDownloads).toBe(1);
  }, 60_000);

  it("never removes a file a live run uses, and removes it once the run has ended", async () => {
    const { server, api } = await setup();
    for (const name of ["a", "b", "c"]) server.files.set(`u/${name}.bin`, { data: contentOf(name) });
    const cap = SIZE;
    const cacheDir = join(dir.path, "cache");
    const live = await downloadCozyRef("u/a.bin", runOptions(api, "run-a", cap));
    await downloadCozyRef("u/b.bin", runOptions(api, "run-b", cap));
    await rm(join(dir.path, "run-b"), { recursive: true });
    // Over the cap, but a is linked into run-a, which has not ended.
    expect((await readdir(cacheDir)).sort()).toEqual([
      cachedName(contentOf("a")),
      cachedName(contentOf("b")),
    ]);
    expect((await readFile(live.localPath ?? "")).equals(contentOf("a"))).toBe(true);
    // Another run of the same input still finds it in the cache.
    server.requests.length = 0;
    await downloadCozyRef("u/a.bin", runOptions(api, "run-a2", cap));
    expect(methods(server)).toEqual(["HEAD"]);

    await rm(join(dir.path, "run-a"), { recursive: true });
    await rm(join(dir.path, "run-a2"), { recursive: true });
    await downloadCozyRef("u/c.bin", runOptions(api, "run-c", cap));
    expect(await readdir(cacheDir)).toEqual([cachedName(contentOf("c"))]);
  });

  it("serves concurrent runs under a tiny cap without removing a file before its run has it", async () => {
    const { server, api } = await setup();
    server.files.set("u/hot.bin", { data: contentOf("hot") });
    for (let n = 0; n < 40; n += 1) server.files.set(`u/in-${n}.bin`, { data: contentOf(n) });
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, n) => {
        const options = runOptions(api, `run-${n}`, 2 * SIZE);
        const input = await downloadCozyRef(`u/in-${n}.bin`, options);
        const hot = await downloadCozyRef("u/hot.bin", options);
        return [await readFile(input.localPath ?? ""), await readFile(hot.localPath ?? "")];
      }),
    );
    results.forEach(([input, hot], n) => {
      expect(input?.equals(contentOf(n))).toBe(true);
      expect(hot?.equals(contentOf("hot"))).toBe(true);
    });
  });

  it("keeps every file when the cap is 0 (no cap)", async () => {
    const { server, api } = await setup();
    for (let n = 0; n < 5; n += 1) {
      server.files.set(`u/in-${n}.bin`, { data: contentOf(n) });
      await downloadCozyRef(`u/in-${n}.bin`, runOptions(api, `run-${n}`, 0));
      await rm(join(dir.path, `run-${n}`), { recursive: true });
    }
    expect(await readdir(join(dir.path, "cache"))).toHaveLength(5);
  });
});

describe("InputCache", () => {
  it("orders a folder it finds by last use (modification time) and drops stale partial downloads", async () => {
    const cacheDir = join(dir.path, "cache");
    await mkdir(cacheDir);
    const hour = 3600_000;
    const files: [string, number][] = [
      ["old.bin", 5 * hour],
      ["newest.bin", 0],
      ["middle.bin", 2 * hour],
    ];
    for (const [name, age] of files) {
      await writeFile(join(cacheDir, name), Buffer.alloc(100));
      const at = new Date(Date.now() - age);
      await utimes(join(cacheDir, name), at, at);
    }
    await writeFile(join(cacheDir, ".left.by.a.crash.part"), Buffer.alloc(50));
    const longAgo = new Date(Date.now() - 2 * hour);
    await utimes(join(cacheDir, ".left.by.a.crash.part"), longAgo, longAgo);
    await writeFile(join(cacheDir, ".in.progress.part"), Buffer.alloc(50));

    const cache = new InputCache(cacheDir);
    await cache.makeRoom(250);
    expect((await readdir(cacheDir)).sort()).toEqual([".in.progress.part", "middle.bin", "newest.bin"]);
    await cache.used("middle.bin", 100);
    await cache.makeRoom(150);
    expect(await readdir(cacheDir)).toEqual([".in.progress.part", "middle.bin"]);
    expect(cache.bytes).toBe(100);
  });
});

describe("downloadCozyRef on a full disk", () => {
  it("leaves nothing in the cache and names the size, the folder and the fix", async (ctx) => {
    const disk = await mountSmallDisk(1024 * 1024);
    if ("skip" in disk) return ctx.skip(disk.skip);
    try {
      const { server, api } = await setup();
      server.files.set("u/big.bin", { data: Buffer.alloc(2_000_000, 3) });
      const cacheDir = join(disk.path, "cache");
      const options = { api, runInputsDir: join(dir.path, "run-1", "inputs"), cacheDir, maxBytes: 0 };
      const error = await downloadCozyRef("u/big.bin", options).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ResourceError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `it needs 2\\.00 MB in ${cacheDir} \\(.* free\\); free space on that disk, or lower WORKER_CACHE_MAX_BYTES`,
        ),
      );
      expect(await readdir(cacheDir)).toEqual([]);
    } finally {
      await disk.remove();
    }
  });
});
