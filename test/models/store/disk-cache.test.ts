import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ResourceError } from "../../../src/contract/errors.js";
import { DownloadIntegrityError } from "../../../src/models/download/download-file.js";
import { createDownloadPool } from "../../../src/models/download/download-pool.js";
import { HfAuthError, HfHubClient, HfNotFoundError } from "../../../src/models/sources/hf-hub.js";
import { ModelDiskCache } from "../../../src/models/store/disk-cache.js";
import { modelSettingsFromEnv } from "../../../src/settings/models.js";
import { type FakeHfHub, gitBlobId, LFS_THRESHOLD, startFakeHfHub } from "../../support/fake-hf-hub.js";
import { SELECTED, startHubWithCache, stopHubWithCache, writeOnnxRepo } from "../../support/hub-repos.js";
import { mountSmallDisk } from "../../support/small-disk.js";

let root: string;
let cacheDir: string;
let hub: FakeHfHub;

beforeEach(async () => {
  ({ root, cacheDir, hub } = await startHubWithCache("disk-cache", (dir) => writeOnnxRepo(dir, "acme/tiny")));
});

afterEach(async () => {
  await stopHubWithCache({ root, cacheDir, hub });
});

function makeCache(options: { token?: string; maxBytes?: number; dir?: string } = {}): ModelDiskCache {
  return new ModelDiskCache({
    settings: {
      ...modelSettingsFromEnv({}),
      cache: { dir: options.dir ?? cacheDir, maxBytes: options.maxBytes ?? 0 },
    },
    hub: new HfHubClient({
      endpoint: hub.endpoint,
      retryBaseDelayMs: 5,
      ...(options.token ? { token: options.token } : {}),
    }),
    pool: createDownloadPool(2),
    retryBaseDelayMs: 5,
  });
}

const spec = { dtypes: ["fp32" as const] };

function fileRequests(path: string) {
  return hub.requests.filter((r) => r.path.includes("/resolve/") && r.path.endsWith(`/${path}`));
}

/** Every file under the cache, relative to it. */
async function cacheTree(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(join(dir, entry.name), rel);
      else out.push(rel);
    }
  };
  await walk(cacheDir, "");
  return out.sort();
}

async function expectSameAsRepo(dir: string, files: string[]): Promise<void> {
  for (const path of files) {
    const got = await readFile(join(dir, path));
    const want = await readFile(join(root, "acme", "tiny", path));
    expect(got.equals(want), path).toBe(true);
  }
}

describe("ModelDiskCache.ensureHfSnapshot against the fake hub", () => {
  it("pulls only the selected files into snapshots/<commit>, verified, and reuses them", async () => {
    const cache = makeCache();
    const commit = await hub.commitOf("acme/tiny");
    const progress: string[] = [];
    const snapshot = await cache.ensureHfSnapshot("hf:acme/tiny", spec, {
      onProgress: (p) => {
        if (p.done) progress.push(p.path);
      },
    });
    expect(snapshot.commit).toBe(commit);
    expect(snapshot.cached).toBe(false);
    expect(snapshot.dir).toBe(join(cacheDir, "hf", "acme--tiny", "snapshots", commit));
    expect(snapshot.files.map((f) => f.path)).toEqual(SELECTED);
    expect(snapshot.files.find((f) => f.path === "tokenizer.json")?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(progress.sort()).toEqual(SELECTED);
    await expectSameAsRepo(snapshot.dir, SELECTED);
    const inSnapshot = (await cacheTree()).filter((p) => p.includes(`snapshots/${commit}/`));
    expect(inSnapshot.map((p) => p.split(`${commit}/`)[1])).toEqual(SELECTED);
    expect((await cacheTree()).some((p) => p.includes(".building") || p.endsWith(".part"))).toBe(false);
    expect(fileRequests("pytorch_model.bin")).toHaveLength(0);

    const before = hub.requests.length;
    const again = await cache.ensureHfSnapshot("hf:acme/tiny@main", spec);
    expect(again.cached).toBe(true);
    expect(hub.requests.slice(before).filter((r) => r.path.includes("/resolve/"))).toHaveLength(0);

    // A pinned commit that is cached needs no network at all.
    await hub.close();
    const offline = await cache.ensureHfSnapshot(`hf:acme/tiny@${commit}`, spec);
    expect(offline.cached).toBe(true);
    hub = await startFakeHfHub(root);
  });

  it("adds the files of another dtype to the same commit's snapshot", async () => {
    const cache = makeCache();
    const first = await cache.ensureHfSnapshot("hf:acme/tiny", spec);
    const second = await cache.ensureHfSnapshot("hf:acme/tiny", { dtypes: ["int8"] });
    expect(second.dir).toBe(first.dir);
    expect(second.cached).toBe(false);
    expect(second.files.map((f) => f.path)).toContain("onnx/model_int8.onnx");
    await expectSameAsRepo(second.dir, [...SELECTED, "onnx/model_int8.onnx"]);
    expect(fileRequests("onnx/model.onnx")).toHaveLength(1);
    const [info] = await cache.listSnapshots();
    expect(info?.files).toBe(4);
  });

  it("recovers from truncated bodies and 503s, resuming with Range", async () => {
    hub.faults = { paths: ["tokenizer.json"], truncateAfter: 3000, truncateTimes: 2, fail503: 2 };
    const snapshot = await makeCache().ensureHfSnapshot("hf:acme/tiny", spec);
    await expectSameAsRepo(snapshot.dir, SELECTED);
    const tries = fileRequests("tokenizer.json");
    expect(tries.filter((r) => r.status === 503)).toHaveLength(2);
    expect(tries.some((r) => r.range !== undefined)).toBe(true);
  });

  it("restarts a file from zero when the server ignores Range", async () => {
    hub.faults = { paths: ["tokenizer.json"], truncateAfter: 2000, truncateTimes: 1, ignoreRange: true };
    const snapshot = await makeCache().ensureHfSnapshot("hf:acme/tiny", spec);
    await expectSameAsRepo(snapshot.dir, SELECTED);
    // The cut happened, and the retry asked to resume where it stopped: the server's whole body was used.
    expect(fileRequests("tokenizer.json").map((r) => r.range)).toEqual([undefined, "bytes=2000-"]);
  });

  it("fails clearly on wrong bytes and leaves nothing that looks complete", async () => {
    hub.faults = { paths: ["tokenizer.json"], wrongBytes: true };
    const cache = makeCache();
    const commit = await hub.commitOf("acme/tiny");
    const error = await cache.ensureHfSnapshot("hf:acme/tiny", spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadIntegrityError);
    expect((error as Error).message).toMatch(/sha256 mismatch .*tokenizer\.json/);
    await expect(stat(join(cacheDir, "hf", "acme--tiny", "snapshots", commit))).rejects.toThrow();
    expect(await cache.listSnapshots()).toEqual([]);
    // The corrupt file exists under no name, not even as a part.
    expect((await cacheTree()).filter((p) => p.includes("tokenizer.json"))).toEqual([]);

    hub.faults = {};
    const snapshot = await cache.ensureHfSnapshot("hf:acme/tiny", spec);
    await expectSameAsRepo(snapshot.dir, SELECTED);
    // The files verified before the failure were kept in the building folder, not fetched again.
    expect(fileRequests("config.json")).toHaveLength(1);
  });

  it("a download aborted half-way leaves only a building folder, and the next pull resumes it", async () => {
    hub.faults = { paths: ["tokenizer.json"], delayMs: 300 };
    const cache = makeCache();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("killed")), 100);
    await expect(
      cache.ensureHfSnapshot("hf:acme/tiny", spec, { signal: controller.signal }),
    ).rejects.toThrow();
    expect(await cache.listSnapshots()).toEqual([]);
    const commit = await hub.commitOf("acme/tiny");
    const names = await readdir(join(cacheDir, "hf", "acme--tiny", "snapshots"));
    expect(names).not.toContain(commit);
    hub.faults = {};
    const snapshot = await cache.ensureHfSnapshot("hf:acme/tiny", spec);
    await expectSameAsRepo(snapshot.dir, SELECTED);
  });

  it("names the fix on 401 and 403, and sends the token when set", async () => {
    hub.requireToken = "secret";
    const error = await makeCache()
      .ensureHfSnapshot("hf:acme/tiny", spec)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HfAuthError);
    expect((error as Error).message).toMatch(/hf:acme\/tiny@main.*HTTP 401.*gated or private.*HF_TOKEN/);
    const wrong = await makeCache({ token: "nope" })
      .ensureHfSnapshot("hf:acme/tiny", spec)
      .catch((e: unknown) => e);
    expect((wrong as Error).message).toMatch(/HTTP 403.*HF_TOKEN was refused/);
    const snapshot = await makeCache({ token: "secret" }).ensureHfSnapshot("hf:acme/tiny", spec);
    await expectSameAsRepo(snapshot.dir, SELECTED);
    expect(fileRequests("tokenizer.json")[0]?.authorization).toBe("Bearer secret");
  });

  it("names the repo or the revision on 404", async () => {
    const cache = makeCache();
    await expect(cache.ensureHfSnapshot("hf:acme/nothing", spec)).rejects.toThrow(HfNotFoundError);
    await expect(cache.ensureHfSnapshot("hf:acme/nothing", spec)).rejects.toThrow(/repo acme\/nothing/);
    await expect(cache.ensureHfSnapshot("hf:acme/tiny@v9", spec)).rejects.toThrow(
      /revision "v9" of repo acme\/tiny not found/,
    );
  });

  it("evicts least recently used snapshots to fit the cap, never pinned ones", async () => {
    await writeOnnxRepo(root, "acme/b", 1);
    await writeOnnxRepo(root, "acme/c", 2);
    const probe = await makeCache().ensureHfSnapshot("hf:acme/tiny", spec);
    await makeCache().removeSnapshot("hf:acme/tiny");
    const size = probe.bytes;
    const cache = makeCache({ maxBytes: Math.floor(size * 2.5) });

    const a = await cache.ensureHfSnapshot("hf:acme/tiny", spec, { pin: true });
    await new Promise((r) => setTimeout(r, 20));
    await cache.ensureHfSnapshot("hf:acme/b", spec);
    await new Promise((r) => setTimeout(r, 20));
    await cache.ensureHfSnapshot("hf:acme/c", spec);
    // a is the least recently used but pinned: b goes.
    expect((await cache.listSnapshots()).map((s) => s.repo).sort()).toEqual(["acme/c", "acme/tiny"]);
    await expect(cache.removeSnapshot("hf:acme/tiny")).rejects.toThrow(/in use/);

    a.release();
    await new Promise((r) => setTimeout(r, 20));
    await cache.ensureHfSnapshot("hf:acme/b", spec);
    expect((await cache.listSnapshots()).map((s) => s.repo).sort()).toEqual(["acme/b", "acme/c"]);
    const total = (await cache.listSnapshots()).reduce((sum, s) => sum + s.bytes, 0);
    expect(total).toBeLessThanOrEqual(cache.maxBytes);
  });
});

describe("ModelDiskCache: files the listing gives no sha256 for", () => {
  /** A tokenizer.json small enough to stay out of LFS, as most are on the hub. */
  const TOKENIZER = JSON.stringify({
    version: "1.0",
    model: { type: "WordLevel", vocab: { a: 0, b: 1 } },
  }).padEnd(600, " ");

  beforeEach(async () => {
    await writeFile(join(root, "acme", "tiny", "tokenizer.json"), TOKENIZER);
    expect(TOKENIZER.length).toBeLessThanOrEqual(LFS_THRESHOLD);
  });

  it("checks a resumed small file by its git blob id: a 206 of another version's bytes is caught", async () => {
    hub.faults = { paths: ["tokenizer.json"], truncateAfter: 200, truncateTimes: 1, rangeOtherBytes: true };
    const snapshot = await makeCache().ensureHfSnapshot("hf:acme/tiny", spec);
    expect(snapshot.files.find((f) => f.path === "tokenizer.json")).toMatchObject({
      gitOid: gitBlobId(Buffer.from(TOKENIZER)),
    });
    expect(await readFile(join(snapshot.dir, "tokenizer.json"), "utf8")).toBe(TOKENIZER);
    // It was resumed (and refused), then fetched whole.
    expect(fileRequests("tokenizer.json").map((r) => r.range)).toEqual([undefined, "bytes=200-", undefined]);
  });

  it("never resumes a file with neither sha256 nor blob id: every try starts from zero", async () => {
    hub.faults = {
      paths: ["tokenizer.json"],
      truncateAfter: 200,
      truncateTimes: 1,
      rangeOtherBytes: true,
      noBlobIds: true,
    };
    const snapshot = await makeCache().ensureHfSnapshot("hf:acme/tiny", spec);
    expect(await readFile(join(snapshot.dir, "tokenizer.json"), "utf8")).toBe(TOKENIZER);
    expect(fileRequests("tokenizer.json").map((r) => r.range)).toEqual([undefined, undefined]);
  });
});

describe("ModelDiskCache on a full disk", () => {
  it("removes what the pull wrote, names the size, the folder and the fix, and the next pull fits", async (ctx) => {
    const disk = await mountSmallDisk(1024 * 1024);
    if ("skip" in disk) return ctx.skip(disk.skip);
    try {
      const big = join(root, "acme", "big");
      await mkdir(join(big, "onnx"), { recursive: true });
      await writeFile(join(big, "onnx", "model.onnx"), randomBytes(2_000_000));
      await writeFile(join(big, "config.json"), JSON.stringify({ model_type: "big" }));
      const cache = makeCache({ dir: join(disk.path, "models") });

      const error = await cache.ensureHfSnapshot("hf:acme/big", spec).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResourceError);
      const message = (error as Error).message;
      expect(message).toContain("no space left on the disk for model hf:acme/big@main");
      expect(message).toContain("its files need 2.00 MB (onnx/model.onnx alone 2.00 MB)");
      expect(message).toContain(`in the model cache ${join(disk.path, "models")}`);
      expect(message).toMatch(/Free space on that disk, or lower WORKER_MODEL_CACHE_MAX_GB \(now no cap\)/);
      const left = await readdir(join(disk.path, "models"), { recursive: true });
      expect(left.filter((name) => name.endsWith(".part") || name.includes(".building"))).toEqual([]);

      const small = await cache.ensureHfSnapshot("hf:acme/tiny", spec);
      await expectSameAsRepo(small.dir, SELECTED);
    } finally {
      await disk.remove();
    }
  });
});
