import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ValidationError } from "../../src/contract/errors.js";
import { type DevFileApi, startDevFileApi } from "../../src/dev/file-api-server.js";
import { FileApiClient } from "../../src/runtime/files/file-api.js";

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dev-file-api-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(options: { token?: string; dir?: string } = {}): Promise<DevFileApi> {
  const dir = options.dir ?? join(await tempDir(), "files");
  const api = await startDevFileApi({ dir, listen: "127.0.0.1:0", token: options.token });
  cleanups.push(() => api.close());
  return api;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request with the path sent exactly as written (fetch would normalize `..`). */
function raw(
  api: DevFileApi,
  method: string,
  path: string,
  options: { body?: Buffer | string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: api.port, method, path, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

describe("startDevFileApi", () => {
  it("PUT writes (and overwrites) a file and answers with its ref, size, sha256 and mime type", async () => {
    const api = await start();
    expect(api.url).toBe(`http://127.0.0.1:${api.port}`);
    const put = await raw(api, "PUT", "/api/v1/file/runs/r1/outputs/hello%20world.txt", { body: "hello" });
    expect(put.status).toBe(200);
    expect(JSON.parse(put.body.toString())).toEqual({
      ref: "runs/r1/outputs/hello world.txt",
      size_bytes: 5,
      sha256: sha256("hello"),
      mime_type: "text/plain",
    });
    expect(await readFile(join(api.dir, "runs/r1/outputs/hello world.txt"), "utf8")).toBe("hello");

    const again = await raw(api, "PUT", "/api/v1/file/runs/r1/outputs/hello%20world.txt", { body: "bye" });
    expect(again.status).toBe(200);
    expect(await readFile(join(api.dir, "runs/r1/outputs/hello world.txt"), "utf8")).toBe("bye");
  });

  it("POST creates a file and answers 409 when it exists, leaving it untouched", async () => {
    const api = await start();
    const created = await raw(api, "POST", "/api/v1/file/runs/r1/outputs/a.png", { body: PNG });
    expect(created.status).toBe(201);
    expect(JSON.parse(created.body.toString())).toMatchObject({
      size_bytes: PNG.length,
      mime_type: "image/png",
    });
    const conflict = await raw(api, "POST", "/api/v1/file/runs/r1/outputs/a.png", { body: "other" });
    expect(conflict.status).toBe(409);
    expect(await readFile(join(api.dir, "runs/r1/outputs/a.png"))).toEqual(PNG);
  });

  it("HEAD answers with the X-Cozy-* headers, or 404; GET returns the bytes", async () => {
    const api = await start();
    await raw(api, "PUT", "/api/v1/file/inputs/cat.png", { body: PNG });
    const head = await raw(api, "HEAD", "/api/v1/file/inputs/cat.png");
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers["content-length"]).toBe(String(PNG.length));
    expect(head.headers["x-cozy-sha256"]).toBe(sha256(PNG));
    expect(head.headers["x-cozy-size-bytes"]).toBe(String(PNG.length));
    expect(head.headers["x-cozy-mime-type"]).toBe("image/png");

    const get = await raw(api, "GET", "/api/v1/file/inputs/cat.png");
    expect(get.status).toBe(200);
    expect(get.body).toEqual(PNG);
    expect(get.headers["x-cozy-sha256"]).toBe(sha256(PNG));

    // A file put there by hand is hashed on demand.
    await writeFile(join(api.dir, "inputs", "notes.txt"), "by hand");
    const manual = await raw(api, "HEAD", "/api/v1/file/inputs/notes.txt");
    expect(manual.headers["x-cozy-sha256"]).toBe(sha256("by hand"));

    expect((await raw(api, "HEAD", "/api/v1/file/inputs/missing.png")).status).toBe(404);
    expect((await raw(api, "GET", "/api/v1/file/inputs/missing.png")).status).toBe(404);
    expect((await raw(api, "GET", "/api/v1/file/inputs")).status).toBe(404);
    expect((await raw(api, "GET", "/elsewhere")).status).toBe(404);
    expect((await raw(api, "DELETE", "/api/v1/file/inputs/cat.png")).status).toBe(405);
  });

  it("checks the bearer token when one is set", async () => {
    const api = await start({ token: "dev-token" });
    const path = "/api/v1/file/runs/r1/outputs/a.txt";
    expect((await raw(api, "PUT", path, { body: "x" })).status).toBe(401);
    const wrong = { authorization: "Bearer other" };
    expect((await raw(api, "PUT", path, { body: "x", headers: wrong })).status).toBe(401);
    expect((await raw(api, "GET", path, { headers: wrong })).status).toBe(401);
    const right = { authorization: "Bearer dev-token", "x-cozy-owner": "tenant-1" };
    expect((await raw(api, "PUT", path, { body: "x", headers: right })).status).toBe(200);
    expect((await raw(api, "HEAD", path, { headers: right })).status).toBe(200);
    expect(api.requests.map((entry) => [entry.method, entry.status])).toEqual([
      ["PUT", 401],
      ["PUT", 401],
      ["GET", 401],
      ["PUT", 200],
      ["HEAD", 200],
    ]);
    expect(api.requests[3]).toMatchObject({ ref: "runs/r1/outputs/a.txt", owner: "tenant-1" });
  });

  it("answers 404 to refs that escape the folder, lexically or through a symbolic link", async () => {
    const base = await tempDir();
    const dir = join(base, "files");
    const outside = join(base, "outside");
    await mkdir(outside);
    await writeFile(join(outside, "secret.txt"), "secret");
    await mkdir(dir);
    await symlink(outside, join(dir, "link"));
    await symlink(join(outside, "secret.txt"), join(dir, "secret-link.txt"));
    const api = await start({ dir });

    for (const path of [
      "/api/v1/file/../outside/secret.txt",
      "/api/v1/file/..%2Foutside%2Fsecret.txt",
      "/api/v1/file/a/%2e%2e/%2e%2e/outside/secret.txt",
      `/api/v1/file/${encodeURIComponent(join(outside, "secret.txt"))}`,
      "/api/v1/file/link/secret.txt",
      "/api/v1/file/secret-link.txt",
      "/api/v1/file/%zz",
      "/api/v1/file/",
    ]) {
      expect((await raw(api, "GET", path)).status, path).toBe(404);
      expect((await raw(api, "PUT", path, { body: "overwritten" })).status, path).toBe(404);
    }
    expect(await readFile(join(outside, "secret.txt"), "utf8")).toBe("secret");
  });

  it("works with the worker's file API client", async () => {
    const api = await start({ token: "dev-token" });
    const client = new FileApiClient({ baseUrl: api.url, token: "dev-token", owner: "tenant-1" });
    const stored = await client.upload("runs/r2/outputs/x y.png", PNG, { createOnly: true });
    expect(stored).toEqual({ sha256: sha256(PNG), sizeBytes: PNG.length, mimeType: "image/png" });
    await expect(client.upload("runs/r2/outputs/x y.png", PNG, { createOnly: true })).rejects.toThrow(
      ValidationError,
    );
    await client.upload("runs/r2/outputs/x y.png", Buffer.from("text"), { createOnly: false });
    expect(await client.head("runs/r2/outputs/x y.png")).toEqual({
      sha256: sha256("text"),
      sizeBytes: 4,
      mimeType: "image/png",
    });
  });
});
