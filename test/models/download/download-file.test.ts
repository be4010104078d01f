import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthError, ResourceError } from "../../../src/contract/errors.js";
import { DiskFullError } from "../../../src/models/download/disk-full.js";
import {
  DownloadError,
  type DownloadFileOptions,
  DownloadIntegrityError,
  DownloadNotFoundError,
  downloadFile,
} from "../../../src/models/download/download-file.js";
import {
  gitBlobId,
  type Handler,
  makeContent,
  otherVersion,
  sendFile,
  sendStatus,
  startServer,
  type TestServer,
} from "../../support/fault-server.js";
import { mountSmallDisk } from "../../support/small-disk.js";

const SIZE = 1024 * 1024 + 12_345;
const { content, sha256 } = makeContent(SIZE);
const FAST: DownloadFileOptions = { retryBaseDelayMs: 10, timeoutMs: 5_000 };

let dir: string;
let dest: string;
const servers: TestServer[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "download-file-"));
  dest = join(dir, "sub", "model.onnx");
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await rm(dir, { recursive: true, force: true });
});

async function serve(handler: Handler): Promise<TestServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}

async function writePart(data: Buffer): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  await writeFile(`${dest}.part`, data);
}

async function expectOnlyDest(): Promise<void> {
  // Buffer.equals: toEqual walks a megabyte element by element.
  expect((await readFile(dest)).equals(content)).toBe(true);
  expect(existsSync(`${dest}.part`)).toBe(false);
}

async function expectNothingLeft(): Promise<void> {
  expect(existsSync(dest)).toBe(false);
  expect(existsSync(`${dest}.part`)).toBe(false);
}

describe("downloadFile", () => {
  it("downloads, verifies size, sha256 and blake3, and leaves only the destination", async () => {
    const server = await serve((req, res) => sendFile(req, res, content));
    const progress: number[] = [];
    const result = await downloadFile(server.url("/m.onnx"), dest, {
      ...FAST,
      expectedSize: SIZE,
      expectedSha256: sha256.toUpperCase(),
      onProgress: (bytes, total) => {
        expect(total).toBe(SIZE);
        progress.push(bytes);
      },
    });
    expect(result).toEqual({ bytes: SIZE, sha256, resumed: false });
    await expectOnlyDest();
    expect(server.log).toHaveLength(1);
    expect(server.log[0]?.range).toBeUndefined();
    expect(progress.at(-1)).toBe(SIZE);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it("checks blake3 against the published test vector", async () => {
    const abc = Buffer.from("abc");
    const server = await serve((req, res) => sendFile(req, res, abc));
    const expectedBlake3 = "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85";
    const result = await downloadFile(server.url("/abc"), dest, { ...FAST, expectedBlake3 });
    expect(result.blake3).toBe(expectedBlake3);
    await expect(
      downloadFile(server.url("/abc"), join(dir, "other"), { ...FAST, expectedBlake3: "00".repeat(32) }),
    ).rejects.toMatchObject({ name: "DownloadIntegrityError", check: "blake3", actual: expectedBlake3 });
    expect(existsSync(join(dir, "other.part"))).toBe(false);
  });

  it("resumes with Range after the body is cut, byte-identical and sha-correct", async () => {
    const cut = 300_000;
    const server = await serve((req, res, index) =>
      sendFile(req, res, content, index === 0 ? { cutAfter: cut } : {}),
    );
    const result = await downloadFile(server.url("/m.onnx"), dest, {
      ...FAST,
      expectedSize: SIZE,
      expectedSha256: sha256,
    });
    expect(result).toEqual({ bytes: SIZE, sha256, resumed: true });
    await expectOnlyDest();
    expect(server.log).toHaveLength(2);
    const start = Number(/^bytes=(\d+)-$/.exec(server.log[1]?.range ?? "")?.[1]);
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(cut);
  });

  it("restarts a cut body from zero when no hash can check the file", async () => {
    // A server that would answer a resume with another version's bytes: only a hash could tell.
    const server = await serve((req, res, index) =>
      sendFile(req, res, content, index === 0 ? { cutAfter: 200_000 } : { rangeFrom: otherVersion(content) }),
    );
    const result = await downloadFile(server.url("/m.onnx"), dest, { ...FAST, expectedSize: SIZE });
    expect(result).toEqual({ bytes: SIZE, resumed: false });
    await expectOnlyDest();
    expect(server.log.map((entry) => entry.range)).toEqual([undefined, undefined]);
  });

  it("never resumes a .part an earlier process left when no hash can check the file", async () => {
    await writePart(content.subarray(0, 4321));
    const server = await serve((req, res) =>
      sendFile(req, res, content, { rangeFrom: otherVersion(content) }),
    );
    const result = await downloadFile(server.url("/tokenizer.json"), dest, { ...FAST, expectedSize: SIZE });
    expect(result).toEqual({ bytes: SIZE, resumed: false });
    expect(server.log.map((entry) => entry.range)).toEqual([undefined]);
    await expectOnlyDest();
  });

  it("checks a resumed file by its git blob id, starting over when a 206 carries other bytes", async () => {
    const server = await serve((req, res, index) =>
      sendFile(req, res, content, index === 0 ? { cutAfter: 200_000 } : { rangeFrom: otherVersion(content) }),
    );
    const gitOid = gitBlobId(content);
    const result = await downloadFile(server.url("/tokenizer.json"), dest, {
      ...FAST,
      expectedSize: SIZE,
      expectedGitOid: gitOid,
    });
    expect(result).toEqual({ bytes: SIZE, gitOid, resumed: false });
    await expectOnlyDest();
    const ranges = server.log.map((entry) => entry.range);
    expect(ranges).toHaveLength(3);
    expect(ranges[1]).toMatch(/^bytes=[1-9]\d*-$/);
    expect(ranges[2]).toBeUndefined();
  });

  it("resumes a file with a git blob id, and refuses one whose blob id differs", async () => {
    const server = await serve((req, res, index) =>
      sendFile(req, res, content, index === 0 ? { cutAfter: 200_000 } : {}),
    );
    const gitOid = gitBlobId(content);
    const options = { ...FAST, expectedSize: SIZE, expectedGitOid: gitOid.toUpperCase() };
    expect(await downloadFile(server.url("/t.json"), dest, options)).toEqual({
      bytes: SIZE,
      gitOid,
      resumed: true,
    });
    await expectOnlyDest();
    const wrong = "0".repeat(40);
    const error = await downloadFile(server.url("/t.json"), join(dir, "other"), {
      ...options,
      expectedGitOid: wrong,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: "DownloadIntegrityError",
      check: "git blob id",
      expected: wrong,
      actual: gitOid,
    });
    expect(existsSync(join(dir, "other.part"))).toBe(false);
  });

  it("restarts from zero when the server ignores Range, after asking for a range", async () => {
    const server = await serve((req, res, index) =>
      sendFile(req, res, content, index === 0 ? { cutAfter: 200_000 } : { ignoreRange: true }),
    );
    const result = await downloadFile(server.url("/m.onnx"), dest, { ...FAST, expectedSha256: sha256 });
    expect(result).toEqual({ bytes: SIZE, sha256, resumed: false });
    await expectOnlyDest();
    expect(server.log).toHaveLength(2);
    expect(server.log[1]?.range).toMatch(/^bytes=[1-9]\d*-$/);
  });

  it("resumes a .part left by an earlier process, re-hashing it", async () => {
    await writePart(content.subarray(0, 4321));
    const server = await serve((req, res) => sendFile(req, res, content));
    const result = await downloadFile(server.url("/m.onnx"), dest, { ...FAST, expectedSha256: sha256 });
    expect(result).toEqual({ bytes: SIZE, sha256, resumed: true });
    expect(server.log.map((entry) => entry.range)).toEqual(["bytes=4321-"]);
    await expectOnlyDest();
  });

  it("finishes a complete .part without a request when the size is known", async () => {
    await writePart(content);
    const server = await serve((req, res) => sendFile(req, res, content));
    const result = await downloadFile(server.url("/m.onnx"), dest, {
      ...FAST,
      expectedSize: SIZE,
      expectedSha256: sha256,
    });
    expect(result).toEqual({ bytes: SIZE, sha256, resumed: true });
    expect(server.log).toHaveLength(0);
    await expectOnlyDest();
  });

  it("finishes a complete .part of unknown size when the server answers 416", async () => {
    await writePart(content);
    const server = await serve((req, res) => sendFile(req, res, content));
    const result = await downloadFile(server.url("/m.onnx"), dest, { ...FAST, expectedSha256: sha256 });
    expect(result).toEqual({ bytes: SIZE, sha256, resumed: true });
    expect(server.log.map((entry) => entry.range)).toEqual([`bytes=${SIZE}-`]);
    await expectOnlyDest();
  });

  it("starts over once when a resumed file fails its hash (a stale .part)", async () => {
    await writePart(Buffer.alloc(1000, 0xaa));
    const server = await serve((req, res) => sendFile(req, res, content));
    const result = await downloadFile(server.url("/m.onnx"), dest, { ...FAST, expectedSha256: sha256 });
    expect(result).toEqual({ bytes: SIZE, sha256, resumed: false });
    expect(server.log.map((entry) => entry.range)).toEqual(["bytes=1000-", undefined]);
    await expectOnlyDest();
  });

  it("restarts when a 206 answer starts elsewhere than asked", async () => {
    await writePart(content.subarray(0, 1000));
    const server = await serve((req, res) => {
      if (req.headers.range) {
        res.writeHead(206, { "content-range": `bytes 0-${SIZE - 1}/${SIZE}`, "content-length": SIZE });
        res.end(content);
        return;
      }
      sendFile(req, res, content);
    });
    const result = await downloadFile(server.url("/m.onnx"), dest, { ...FAST, expectedSha256: sha256 });
    expect(result).toEqual({ bytes: SIZE, sha256, resumed: false });
    expect(server.log.map((entry) => entry.range)).toEqual(["bytes=1000-", undefined]);
    await expectOnlyDest();
  });

  it("retries 503 twice, then succeeds", async () => {
    const server = await serve((req, res, index) =>
      index < 2 ? sendStatus(res, 503) : sendFile(req, res, content),
    );
    const result = await downloadFile(server.url("/m.onnx"), dest, { ...FAST, expectedSha256: sha256 });
    expect(result.sha256).toBe(sha256);
    expect(server.log).toHaveLength(3);
    await expectOnlyDest();
  });

  it("honours Retry-After on 429", async () => {
    const server = await serve((req, res, index) =>
      index === 0 ? sendStatus(res, 429, { "retry-after": "0" }) : sendFile(req, res, content),
    );
    await downloadFile(server.url("/m.onnx"), dest, FAST);
    expect(server.log).toHaveLength(2);
    await expectOnlyDest();
  });

  it("gives up after the retries on a persistent 500", async () => {
    const server = await serve((_req, res) => sendStatus(res, 500));
    const error = await downloadFile(server.url("/m.onnx"), dest, { ...FAST, retries: 2 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DownloadError);
    expect(error).toMatchObject({ status: 500, retryable: true });
    expect(server.log).toHaveLength(3);
    await expectNothingLeft();
  });

  it("fails at once on 404, without retrying, and keeps presigned query strings out of the message", async () => {
    const server = await serve((_req, res) => sendStatus(res, 404));
    const error = await downloadFile(server.url("/m.onnx?X-Amz-Signature=secret"), dest, FAST).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DownloadNotFoundError);
    expect((error as Error).message).toContain("not found");
    expect((error as Error).message).toContain("/m.onnx");
    expect((error as Error).message).not.toContain("secret");
    expect(server.log).toHaveLength(1);
    await expectNothingLeft();
  });

  it.each([401, 403])(
    "turns %i into an AuthError about expired presigned URLs, without retrying",
    async (status) => {
      const server = await serve((_req, res) => sendStatus(res, status));
      const error = await downloadFile(server.url("/m.onnx"), dest, FAST).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthError);
      expect((error as Error).message).toMatch(/presigned URL has expired/);
      expect(server.log).toHaveLength(1);
      await expectNothingLeft();
    },
  );

  it("fails on a wrong sha256, leaving neither the destination nor a .part", async () => {
    const server = await serve((req, res) => sendFile(req, res, content));
    const wrong = "0".repeat(64);
    const error = await downloadFile(server.url("/m.onnx"), dest, { ...FAST, expectedSha256: wrong }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DownloadIntegrityError);
    expect(error).toMatchObject({ check: "sha256", expected: wrong, actual: sha256 });
    expect((error as Error).message).toContain(`expected ${wrong}, got ${sha256}`);
    expect(server.log).toHaveLength(1);
    await expectNothingLeft();
  });

  it("refuses a body larger than the expected size", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200);
      res.end(content);
    });
    const error = await downloadFile(server.url("/m.onnx"), dest, { ...FAST, expectedSize: 1000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "DownloadIntegrityError", check: "size" });
    expect((error as Error).message).toContain("exceeded expected size");
    await expectNothingLeft();
  });

  it("refuses a file whose announced size differs from the expected one", async () => {
    const server = await serve((req, res) => sendFile(req, res, content));
    const error = await downloadFile(server.url("/m.onnx"), dest, { ...FAST, expectedSize: SIZE + 1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "DownloadIntegrityError", check: "size", actual: String(SIZE) });
    expect(server.log).toHaveLength(1);
    await expectNothingLeft();
  });

  it("times out a silent server and resumes on the next try", async () => {
    const server = await serve((req, res, index) =>
      sendFile(req, res, content, index === 0 ? { stallAfter: 100_000 } : {}),
    );
    const result = await downloadFile(server.url("/m.onnx"), dest, {
      ...FAST,
      timeoutMs: 300,
      expectedSha256: sha256,
    });
    expect(result.resumed).toBe(true);
    expect(server.log[1]?.range).toMatch(/^bytes=[1-9]\d*-$/);
    await expectOnlyDest();
  });

  it("resumes a chunked body that ended cleanly but short of the expected size", async () => {
    const server = await serve((req, res, index) => {
      if (index === 0) {
        res.writeHead(200);
        res.end(content.subarray(0, 100_000));
        return;
      }
      sendFile(req, res, content);
    });
    const result = await downloadFile(server.url("/m.onnx"), dest, {
      ...FAST,
      expectedSize: SIZE,
      expectedSha256: sha256,
    });
    expect(result).toEqual({ bytes: SIZE, sha256, resumed: true });
    expect(server.log.map((entry) => entry.range)).toEqual([undefined, "bytes=100000-"]);
    await expectOnlyDest();
  });

  it("lets a slow but steady server finish within the silence timeout", async () => {
    const server = await serve(async (_req, res) => {
      res.writeHead(200, { "content-length": SIZE });
      const step = Math.ceil(SIZE / 8);
      for (let at = 0; at < SIZE; at += step) {
        res.write(content.subarray(at, at + step));
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      res.end();
    });
    const result = await downloadFile(server.url("/m.onnx"), dest, { ...FAST, timeoutMs: 250, retries: 0 });
    // No hash was asked for, so none is computed; the bytes are compared below.
    expect(result).toEqual({ bytes: SIZE, resumed: false });
    expect(server.log).toHaveLength(1);
    await expectOnlyDest();
  });

  it("leaves only the .part (a prefix of the file) when aborted mid-body", async () => {
    const controller = new AbortController();
    const reason = new Error("stop now");
    const sent = 400_000;
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": SIZE });
      // Abort once the client has had time to receive the bytes; the server then stays silent.
      res.write(content.subarray(0, sent), () => setTimeout(() => controller.abort(reason), 150));
    });
    const error = await downloadFile(server.url("/m.onnx"), dest, {
      ...FAST,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(existsSync(dest)).toBe(false);
    const part = await readFile(`${dest}.part`);
    expect(part.length).toBe(sent);
    expect(part.equals(content.subarray(0, sent))).toBe(true);
    expect(server.log).toHaveLength(1);
  });

  it("does not start when the signal is already aborted", async () => {
    const server = await serve((req, res) => sendFile(req, res, content));
    const error = await downloadFile(server.url("/m.onnx"), dest, {
      ...FAST,
      signal: AbortSignal.abort(),
    }).catch((e: unknown) => e);
    expect((error as Error).name).toBe("AbortError");
    expect(server.log).toHaveLength(0);
    await expectNothingLeft();
  });

  it("follows redirects and drops Authorization when the origin changes", async () => {
    const target = await serve((req, res) => sendFile(req, res, content));
    const front = await serve((req, res) => {
      if (req.url === "/same") {
        res.writeHead(302, { location: "/file" });
        res.end();
      } else if (req.url === "/file") {
        sendFile(req, res, content);
      } else {
        res.writeHead(302, { location: target.url("/blob") });
        res.end();
      }
    });
    const headers = { authorization: "Bearer hf_secret" };
    await downloadFile(front.url("/same"), dest, { ...FAST, headers });
    expect(front.log.map((entry) => entry.authorization)).toEqual(["Bearer hf_secret", "Bearer hf_secret"]);
    await downloadFile(front.url("/cross"), join(dir, "b"), { ...FAST, headers, expectedSha256: sha256 });
    expect(target.log).toHaveLength(1);
    expect(target.log[0]?.authorization).toBeUndefined();
    expect((await stat(join(dir, "b"))).size).toBe(SIZE);
  });
});

describe("downloadFile on a full disk", () => {
  it("removes the part, says how much was needed and where, and leaves room for the next file", async (ctx) => {
    const disk = await mountSmallDisk(1024 * 1024);
    if ("skip" in disk) return ctx.skip(disk.skip);
    try {
      const server = await serve((req, res) => sendFile(req, res, content));
      const target = join(disk.path, "snapshot.building", "model.onnx");
      const error = await downloadFile(server.url("/model.onnx"), target, {
        ...FAST,
        expectedSize: SIZE,
        expectedSha256: sha256,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DiskFullError);
      expect(error).toBeInstanceOf(ResourceError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `no space left on the disk for ${target} \\(it needs 1\\.06 MB\\) in ${dirname(target)} \\(.* free\\)`,
        ),
      );
      expect(existsSync(`${target}.part`)).toBe(false);
      expect(server.log).toHaveLength(1);

      // The space the part took is free again: a smaller file fits.
      const small = content.subarray(0, 100_000);
      const smallServer = await serve((req, res) => sendFile(req, res, small));
      const result = await downloadFile(
        smallServer.url("/tokenizer.json"),
        join(disk.path, "tokenizer.json"),
        {
          ...FAST,
          expectedSize: small.length,
        },
      );
      expect(result.bytes).toBe(small.length);
    } finally {
      await disk.remove();
    }
  });
});
