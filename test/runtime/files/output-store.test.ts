import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ResourceError, ValidationError } from "../../../src/contract/errors.js";
import { FileApiClient } from "../../../src/runtime/files/file-api.js";
import {
  LocalOutputStore,
  RemoteOutputStore,
  readFileForSave,
} from "../../../src/runtime/files/output-store.js";
import {
  expectRejection,
  type FakeFileApi,
  makeTempDir,
  PNG_BYTES,
  sha256,
  startFakeFileApi,
} from "./servers.js";

let dir: { path: string; remove(): Promise<void> };
let outside: { path: string; remove(): Promise<void> };

beforeEach(async () => {
  dir = await makeTempDir();
  outside = await makeTempDir();
});

afterEach(async () => {
  await dir.remove();
  await outside.remove();
});

function localStore(maxFileBytes = 0) {
  return new LocalOutputStore({ outputsDir: dir.path, runId: "r1", owner: "tenant-1", maxFileBytes });
}

async function filesUnder(path: string): Promise<string[]> {
  return (await readdir(path, { recursive: true })).map(String).sort();
}

describe("LocalOutputStore", () => {
  it("writes under runs/<runId>/outputs and describes the file", async () => {
    const asset = await localStore().save("sub/image.png", PNG_BYTES, { createOnly: false });
    const path = join(dir.path, "runs/r1/outputs/sub/image.png");
    expect(asset.toJSON()).toEqual({
      ref: "runs/r1/outputs/sub/image.png",
      owner: "tenant-1",
      local_path: path,
      mime_type: "image/png",
      size_bytes: PNG_BYTES.byteLength,
      sha256: sha256(PNG_BYTES),
    });
    expect(await readFile(path)).toEqual(PNG_BYTES);
    expect(await asset.readBytes()).toEqual(new Uint8Array(PNG_BYTES));
    expect(await filesUnder(join(dir.path, "runs/r1/outputs/sub"))).toEqual(["image.png"]);
  });

  it("replaces a file on upsert", async () => {
    const store = localStore();
    await store.save("a.txt", Buffer.from("one"), { createOnly: false });
    const asset = await store.save("runs/r1/outputs/a.txt", Buffer.from("two"), { createOnly: false });
    expect(await readFile(asset.localPath ?? "", "utf8")).toBe("two");
    expect(asset.mimeType).toBe("text/plain");
  });

  it("refuses to create over an existing file and keeps it", async () => {
    const store = localStore();
    await store.save("a.txt", Buffer.from("first"), { createOnly: true });
    await expectRejection(
      store.save("a.txt", Buffer.from("second"), { createOnly: true }),
      ValidationError,
      "output path already exists: runs/r1/outputs/a.txt",
    );
    expect(await readFile(join(dir.path, "runs/r1/outputs/a.txt"), "utf8")).toBe("first");
    expect(await filesUnder(join(dir.path, "runs/r1/outputs"))).toEqual(["a.txt"]);
  });

  it("lets exactly one of several concurrent creates win", async () => {
    const store = localStore();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, index) =>
        store.save("race.bin", Buffer.alloc(64 * 1024, index), { createOnly: true }),
      ),
    );
    const winners = results.flatMap((result, index) => (result.status === "fulfilled" ? [index] : []));
    expect(winners).toHaveLength(1);
    const written = await readFile(join(dir.path, "runs/r1/outputs/race.bin"));
    expect(written).toEqual(Buffer.alloc(64 * 1024, winners[0]));
    for (const result of results) {
      if (result.status === "rejected") expect(result.reason).toBeInstanceOf(ValidationError);
    }
  });

  it.each([
    ["../x", "ref must not contain '..'"],
    ["sub/../../../../x", "ref must not contain '..'"],
    ["runs/other-run/outputs/x", "ref must start with 'runs/r1/outputs/'"],
    ["/etc/passwd", "ref must start with 'runs/r1/outputs/' or be relative to it"],
  ])("refuses %j", async (ref, rule) => {
    await expectRejection(
      localStore().save(ref, Buffer.from("x"), { createOnly: false }),
      ValidationError,
      `invalid output ref ${JSON.stringify(ref)}: ${rule}`,
    );
    expect(await readdir(dir.path)).toEqual([]);
  });

  it("refuses a symlinked folder that leads outside", async () => {
    await mkdir(join(dir.path, "runs/r1/outputs"), { recursive: true });
    await symlink(outside.path, join(dir.path, "runs/r1/outputs/escape"));
    await expectRejection(
      localStore().save("escape/deeper/x.png", PNG_BYTES, { createOnly: false }),
      ValidationError,
      /path traversal/,
    );
    expect(await readdir(outside.path)).toEqual([]);
  });

  it("refuses a symlinked run folder that leads outside", async () => {
    await mkdir(join(dir.path, "runs"), { recursive: true });
    await symlink(outside.path, join(dir.path, "runs/r1"));
    await expectRejection(
      localStore().save("x.png", PNG_BYTES, { createOnly: true }),
      ValidationError,
      /path traversal/,
    );
    expect(await readdir(outside.path)).toEqual([]);
  });

  it("refuses a dangling symlink on the way", async () => {
    await mkdir(join(dir.path, "runs/r1/outputs"), { recursive: true });
    await symlink(join(outside.path, "missing"), join(dir.path, "runs/r1/outputs/gone"));
    await expectRejection(localStore().save("gone/x.png", PNG_BYTES, { createOnly: false }), ValidationError);
    expect(await readdir(outside.path)).toEqual([]);
  });

  it("refuses a symlink inside the run's folder that leads to another run, naming the link", async () => {
    await mkdir(join(dir.path, "runs/r2/outputs"), { recursive: true });
    await mkdir(join(dir.path, "runs/r1/outputs"), { recursive: true });
    await symlink(join(dir.path, "runs/r2/outputs"), join(dir.path, "runs/r1/outputs/sub"));
    for (const createOnly of [false, true]) {
      await expectRejection(
        localStore().save("sub/x.txt", Buffer.from("misplaced"), { createOnly }),
        ValidationError,
        `invalid output ref "sub/x.txt": runs/r1/outputs/sub is a symbolic link; saves never follow links inside the outputs folder, so the file would not be where its ref says: remove the link`,
      );
    }
    expect(await readdir(join(dir.path, "runs/r2/outputs"))).toEqual([]);
  });

  it("refuses a symlink that stays inside the run's own folder too", async () => {
    await mkdir(join(dir.path, "runs/r1/outputs/real"), { recursive: true });
    await symlink(join(dir.path, "runs/r1/outputs/real"), join(dir.path, "runs/r1/outputs/alias"));
    await expectRejection(
      localStore().save("alias/deeper/x.txt", Buffer.from("no"), { createOnly: false }),
      ValidationError,
      /runs\/r1\/outputs\/alias is a symbolic link/,
    );
    expect(await filesUnder(join(dir.path, "runs/r1/outputs/real"))).toEqual([]);
  });

  it("refuses a symlinked run folder that stays inside the outputs folder", async () => {
    await mkdir(join(dir.path, "runs/r2"), { recursive: true });
    await symlink(join(dir.path, "runs/r2"), join(dir.path, "runs/r1"));
    await expectRejection(
      localStore().save("x.txt", Buffer.from("no"), { createOnly: false }),
      ValidationError,
      /runs\/r1 is a symbolic link/,
    );
    expect(await filesUnder(join(dir.path, "runs/r2"))).toEqual([]);
  });

  it("works under an outputs folder that is itself reached through a symlink", async () => {
    const alias = join(outside.path, "alias");
    await symlink(dir.path, alias);
    const store = new LocalOutputStore({ outputsDir: alias, runId: "r1", maxFileBytes: 0 });
    const asset = await store.save("a/b.txt", Buffer.from("ok"), { createOnly: true });
    expect(asset.localPath).toBe(join(alias, "runs/r1/outputs/a/b.txt"));
    expect(await readFile(join(dir.path, "runs/r1/outputs/a/b.txt"), "utf8")).toBe("ok");
  });

  it("refuses a name over 255 bytes as validation, not a file-system error", async () => {
    await expectRejection(
      localStore().save(`${"é".repeat(128)}.png`, PNG_BYTES, { createOnly: false }),
      ValidationError,
      /is 260 bytes; each folder or file name may have at most 255 bytes \(UTF-8\)/,
    );
  });

  it("replaces a symlink at the target instead of writing through it", async () => {
    const victim = join(outside.path, "victim.txt");
    await writeFile(victim, "keep");
    await mkdir(join(dir.path, "runs/r1/outputs"), { recursive: true });
    await symlink(victim, join(dir.path, "runs/r1/outputs/link.txt"));
    const store = localStore();
    await expectRejection(store.save("link.txt", Buffer.from("x"), { createOnly: true }), ValidationError);
    await store.save("link.txt", Buffer.from("new"), { createOnly: false });
    expect(await readFile(victim, "utf8")).toBe("keep");
    expect(await readFile(join(dir.path, "runs/r1/outputs/link.txt"), "utf8")).toBe("new");
  });

  it("refuses a file over the size limit; 0 means no limit", async () => {
    await expectRejection(
      localStore(4).save("a.bin", new Uint8Array(5), { createOnly: false }),
      ResourceError,
      "output file too large (5 bytes, max 4)",
    );
    await localStore(0).save("a.bin", new Uint8Array(5), { createOnly: false });
  });

  it("refuses data that is not bytes", async () => {
    const data = "text" as unknown as Uint8Array;
    await expectRejection(localStore().save("a.txt", data, { createOnly: false }), TypeError);
  });
});

describe("RemoteOutputStore", () => {
  let server: FakeFileApi;

  beforeEach(async () => {
    server = await startFakeFileApi({ token: "t0k" });
  });

  afterEach(async () => {
    await server.close();
  });

  function remoteStore(maxFileBytes = 0) {
    const api = new FileApiClient({ baseUrl: server.origin, token: "t0k", owner: "tenant-1" });
    return new RemoteOutputStore({ api, runId: "r1", owner: "tenant-1", maxFileBytes });
  }

  it("PUTs on save and POSTs on create, percent-encoding each segment", async () => {
    const store = remoteStore();
    const asset = await store.save("my dir/a#1.png", PNG_BYTES, { createOnly: false });
    await store.save("runs/r1/outputs/new?.png", PNG_BYTES, { createOnly: true });
    expect(server.requests.map((request) => [request.method, request.url])).toEqual([
      ["PUT", "/api/v1/file/runs/r1/outputs/my%20dir/a%231.png"],
      ["POST", "/api/v1/file/runs/r1/outputs/new%3F.png"],
    ]);
    expect(asset.toJSON()).toEqual({
      ref: "runs/r1/outputs/my dir/a#1.png",
      owner: "tenant-1",
      local_path: null,
      mime_type: "image/x-test",
      size_bytes: PNG_BYTES.byteLength,
      sha256: sha256(PNG_BYTES),
    });
    expect(await asset.exists()).toBe(false);
  });

  it("answers a create conflict (409) with 'output path already exists'", async () => {
    server.files.set("runs/r1/outputs/a.png", { data: Buffer.from("old") });
    await expectRejection(
      remoteStore().save("a.png", PNG_BYTES, { createOnly: true }),
      ValidationError,
      "output path already exists: runs/r1/outputs/a.png",
    );
    expect(server.files.get("runs/r1/outputs/a.png")?.data.toString()).toBe("old");
  });

  it("validates the ref and size before uploading", async () => {
    await expectRejection(remoteStore().save("../x", PNG_BYTES, { createOnly: false }), ValidationError);
    await expectRejection(remoteStore(3).save("a.png", PNG_BYTES, { createOnly: false }), ResourceError);
    expect(server.requests).toEqual([]);
  });
});

describe("readFileForSave", () => {
  it("reads a file within the limit", async () => {
    const path = join(dir.path, "in.bin");
    await writeFile(path, Buffer.from("abc"));
    expect(await readFileForSave(path, 3)).toEqual(new Uint8Array(Buffer.from("abc")));
  });

  it("refuses a missing file, a folder and a file over the limit", async () => {
    await expectRejection(readFileForSave(join(dir.path, "none"), 0), ValidationError, /not found/);
    await expectRejection(readFileForSave(dir.path, 0), ValidationError, /not a regular file/);
    const path = join(dir.path, "big.bin");
    await writeFile(path, Buffer.alloc(10));
    await expectRejection(readFileForSave(path, 9), ResourceError, "output file too large (10 bytes, max 9)");
  });
});
