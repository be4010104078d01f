import { readdir } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import {
  AuthError,
  ResourceError,
  RetryableError,
  ValidationError,
  WorkerError,
} from "../../../src/contract/errors.js";
import {
  encodeRef,
  FILE_API_REQUIRED_MESSAGE,
  FileApiClient,
  type FileApiRequest,
  fileApiRequiredError,
  resolveFileApi as resolveWith,
} from "../../../src/runtime/files/file-api.js";
import { runtimeSettingsFromEnv } from "../../../src/settings/runtime.js";
import { expectRejection, type FakeFileApi, makeTempDir, sha256, startFakeFileApi } from "./servers.js";

const servers: FakeFileApi[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function fakeApi(options: Parameters<typeof startFakeFileApi>[0] = {}): Promise<FakeFileApi> {
  const server = await startFakeFileApi(options);
  servers.push(server);
  return server;
}

describe("resolveFileApi", () => {
  it("takes the task's values first, then the environment in order", () => {
    const resolveFileApi = (request: FileApiRequest, env: Record<string, string>) =>
      resolveWith(request, runtimeSettingsFromEnv(env).fileApi);
    const env = {
      FILE_API_BASE_URL: "http://file-api.test",
      ORCHESTRATOR_HTTP_URL: "http://orchestrator.test",
      COZY_HUB_URL: "http://hub.test",
      FILE_API_TOKEN: "env-token",
      COZY_HUB_TOKEN: "hub-token",
    };
    expect(resolveFileApi({ fileBaseUrl: "http://task.test/" }, env)?.baseUrl).toBe("http://task.test");
    expect(resolveFileApi({ fileBaseUrl: "  " }, env)?.baseUrl).toBe("http://file-api.test");
    expect(resolveFileApi({}, { ...env, FILE_API_BASE_URL: "" })?.baseUrl).toBe("http://orchestrator.test");
    expect(resolveFileApi({}, { COZY_HUB_URL: "http://hub.test" })?.baseUrl).toBe("http://hub.test");
    expect(resolveFileApi({ fileToken: " ", owner: "" }, {})).toBeUndefined();
  });

  it("takes the token from the task, FILE_API_TOKEN, then COZY_HUB_TOKEN", async () => {
    const resolveFileApi = (request: FileApiRequest, env: Record<string, string>) =>
      resolveWith(request, runtimeSettingsFromEnv(env).fileApi);
    const server = await fakeApi({ token: "hub-token" });
    server.files.set("a.txt", { data: Buffer.from("a") });
    const env = { FILE_API_BASE_URL: server.origin, FILE_API_TOKEN: " ", COZY_HUB_TOKEN: "hub-token" };
    await resolveFileApi({ owner: "tenant-1" }, env)?.head("a.txt");
    await expect(resolveFileApi({ fileToken: "wrong" }, env)?.head("a.txt")).rejects.toThrow(AuthError);
    expect(server.requests[0]?.headers.authorization).toBe("Bearer hub-token");
    expect(server.requests[0]?.headers["x-cozy-owner"]).toBe("tenant-1");
  });

  it("names the fix when there is no file API", () => {
    expect(fileApiRequiredError()).toBeInstanceOf(ValidationError);
    expect(FILE_API_REQUIRED_MESSAGE).toBe(
      "FILE_API_BASE_URL is required for file operations: set it, or pass file_base_url with the task",
    );
  });
});

describe("FileApiClient base URL", () => {
  it.each(["ftp://files.test", "files.test", "", "http://"])("refuses %j", (baseUrl) => {
    expect(() => new FileApiClient({ baseUrl })).toThrow(ValidationError);
  });

  it("joins the path after any prefix, without doubled slashes", () => {
    expect(new FileApiClient({ baseUrl: "https://hub.test/prefix//" }).fileUrl("a/b c")).toBe(
      "https://hub.test/prefix/api/v1/file/a/b%20c",
    );
  });
});

describe("encodeRef", () => {
  it("percent-encodes each segment with no safe characters", () => {
    expect(encodeRef("runs/r 1/outputs/a#b?c%d!e'(f)*g.png")).toBe(
      "runs/r%201/outputs/a%23b%3Fc%25d%21e%27%28f%29%2Ag.png",
    );
    expect(encodeRef("u/été.png")).toBe("u/%C3%A9t%C3%A9.png");
  });

  it.each(["a/../b", "./a", "a//b", "", "a/", "a\\b", "a\0b"])("refuses %j", (ref) => {
    expect(() => encodeRef(ref)).toThrow(ValidationError);
  });
});

describe("FileApiClient", () => {
  it("uploads with PUT (upsert) and POST (create), with auth, owner and content type", async () => {
    const server = await fakeApi({ token: "t0k" });
    const api = new FileApiClient({ baseUrl: `${server.origin}/`, token: "t0k", owner: "tenant-1" });
    const data = new Uint8Array([1, 2, 3]);
    expect(await api.upload("runs/r1/outputs/a b.png", data, { createOnly: false })).toEqual({
      sha256: sha256(data),
      sizeBytes: 3,
      mimeType: "image/x-test",
    });
    await api.upload("runs/r1/outputs/new.png", data, { createOnly: true });
    const [put, post] = server.requests;
    expect(put?.method).toBe("PUT");
    expect(put?.url).toBe("/api/v1/file/runs/r1/outputs/a%20b.png");
    expect(put?.headers.authorization).toBe("Bearer t0k");
    expect(put?.headers["x-cozy-owner"]).toBe("tenant-1");
    expect(put?.headers["content-type"]).toBe("application/octet-stream");
    expect(put?.body).toEqual(Buffer.from(data));
    expect(post?.method).toBe("POST");
    expect(server.files.get("runs/r1/outputs/a b.png")?.data).toEqual(Buffer.from(data));
  });

  it("sends no owner header when there is no owner", async () => {
    const server = await fakeApi();
    await new FileApiClient({ baseUrl: server.origin }).upload("x", new Uint8Array(1), { createOnly: false });
    expect(server.requests[0]?.headers["x-cozy-owner"]).toBeUndefined();
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("answers 409 on create with 'output path already exists'", async () => {
    const server = await fakeApi();
    server.files.set("runs/r1/outputs/a.png", { data: Buffer.from("old") });
    const api = new FileApiClient({ baseUrl: server.origin });
    await expectRejection(
      api.upload("runs/r1/outputs/a.png", new Uint8Array(1), { createOnly: true }),
      ValidationError,
      "output path already exists: runs/r1/outputs/a.png",
    );
  });

  it.each([401, 403])("maps %i to AuthError for save, create and read", async (status) => {
    const server = await fakeApi({ forceStatus: { PUT: status, POST: status, HEAD: status, GET: status } });
    const api = new FileApiClient({ baseUrl: server.origin, token: "t" });
    const dir = await makeTempDir();
    try {
      const save = `file save unauthorized (${status}): check file_token validity`;
      const read = `file read unauthorized (${status}): check file_token validity`;
      await expectRejection(api.upload("a", new Uint8Array(1), { createOnly: false }), AuthError, save);
      await expectRejection(api.upload("a", new Uint8Array(1), { createOnly: true }), AuthError, save);
      await expectRejection(api.head("a"), AuthError, read);
      await expectRejection(api.download("a", `${dir.path}/a`, { maxBytes: 0 }), AuthError, read);
    } finally {
      await dir.remove();
    }
  });

  it("maps 5xx and 429 to RetryableError and other codes to a plain error", async () => {
    const busy = await fakeApi({ forceStatus: { PUT: 503, HEAD: 429 } });
    const api = new FileApiClient({ baseUrl: busy.origin });
    await expectRejection(
      api.upload("a", new Uint8Array(1), { createOnly: false }),
      RetryableError,
      "file save failed (503)",
    );
    await expectRejection(api.head("a"), RetryableError, "file read failed (429)");
    const bad = await fakeApi({ forceStatus: { PUT: 400 } });
    const error = await new FileApiClient({ baseUrl: bad.origin })
      .upload("a", new Uint8Array(1), { createOnly: false })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(WorkerError);
    expect((error as Error).message).toBe("file save failed (400)");
  });

  it("reports a missing input as 'input file not found'", async () => {
    const server = await fakeApi();
    const api = new FileApiClient({ baseUrl: server.origin });
    await expectRejection(api.head("u/missing.png"), ValidationError, "input file not found: u/missing.png");
  });

  it("reads X-Cozy-* headers on HEAD", async () => {
    const server = await fakeApi();
    server.files.set("u/a.png", { data: Buffer.from("abc"), mimeType: "image/png" });
    const api = new FileApiClient({ baseUrl: server.origin });
    expect(await api.head("u/a.png")).toEqual({ sha256: sha256("abc"), sizeBytes: 3, mimeType: "image/png" });
  });

  it("ignores malformed X-Cozy-* headers", async () => {
    const server = await fakeApi({ headSha256: () => "../../etc/passwd" });
    server.files.set("u/a", { data: Buffer.from("abc") });
    expect(await new FileApiClient({ baseUrl: server.origin }).head("u/a")).toEqual({ sizeBytes: 3 });
  });

  it("enforces maxBytes while downloading, leaving nothing behind", async () => {
    const server = await fakeApi();
    server.files.set("u/big", { data: Buffer.alloc(10_000) });
    const dir = await makeTempDir();
    try {
      const api = new FileApiClient({ baseUrl: server.origin });
      await expect(api.download("u/big", `${dir.path}/big`, { maxBytes: 4096 })).rejects.toThrow(
        ResourceError,
      );
      expect(await readdir(dir.path)).toEqual([]);
    } finally {
      await dir.remove();
    }
  });

  it("turns a refused connection into a retryable error", async () => {
    const server = await fakeApi();
    const origin = server.origin;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    await expect(new FileApiClient({ baseUrl: origin }).head("a")).rejects.toThrow(RetryableError);
  });
});
