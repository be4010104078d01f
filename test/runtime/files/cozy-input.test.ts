import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthError, ResourceError, RetryableError, ValidationError } from "../../../src/contract/errors.js";
import { downloadCozyRef } from "../../../src/runtime/files/cozy-input.js";
import { FILE_API_REQUIRED_MESSAGE, FileApiClient } from "../../../src/runtime/files/file-api.js";
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
