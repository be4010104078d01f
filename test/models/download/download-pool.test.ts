import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { downloadFile } from "../../../src/models/download/download-file.js";
import { createDownloadPool } from "../../../src/models/download/download-pool.js";
import { makeContent, sendFile, startServer, type TestServer } from "../../support/fault-server.js";

let dir: string;
let server: TestServer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "download-pool-"));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe("download pool", () => {
  it.each([1, 2, 3])("keeps at most %i downloads in flight on the server", async (limit) => {
    const files = Array.from({ length: 7 }, (_, i) => makeContent(50_000 + i));
    server = await startServer((req, res) => {
      const index = Number(req.url?.slice(1));
      // Hold each answer long enough for the others to pile up if the pool let them through.
      setTimeout(() => sendFile(req, res, files[index]?.content ?? Buffer.alloc(0)), 60);
    });
    const pool = createDownloadPool(limit);
    const seen: number[] = [];
    const results = await Promise.all(
      files.map((file, i) =>
        pool.run(async () => {
          seen.push(pool.activeCount);
          return downloadFile((server as TestServer).url(`/${i}`), join(dir, `f${i}`), {
            expectedSha256: file.sha256,
            retryBaseDelayMs: 10,
          });
        }),
      ),
    );
    expect(results.map((result) => result.sha256)).toEqual(files.map((file) => file.sha256));
    expect(server.log).toHaveLength(files.length);
    expect(server.maxActive).toBe(limit);
    expect(Math.max(...seen)).toBe(limit);
    expect(pool.activeCount).toBe(0);
    expect(pool.pendingCount).toBe(0);
    expect((await readFile(join(dir, "f6"))).equals(files[6]?.content ?? Buffer.alloc(0))).toBe(true);
  });

  it("does not start a queued task whose signal aborted while it waited", async () => {
    const pool = createDownloadPool(1);
    let release: (value: string) => void = () => undefined;
    const held = new Promise<string>((resolve) => {
      release = resolve;
    });
    const first = pool.run(() => held);
    const controller = new AbortController();
    let started = false;
    const second = pool.run(
      async () => {
        started = true;
      },
      { signal: controller.signal },
    );
    expect(pool.pendingCount).toBe(1);
    controller.abort(new Error("not needed any more"));
    release("first");
    await expect(first).resolves.toBe("first");
    await expect(second).rejects.toThrow("not needed any more");
    expect(started).toBe(false);
  });

  it("keeps going after a failed task", async () => {
    const pool = createDownloadPool(1);
    const failed = pool.run(async () => {
      throw new Error("boom");
    });
    const next = pool.run(async () => "ok");
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBe("ok");
  });

  it("refuses a concurrency below 1", () => {
    expect(() => createDownloadPool(0)).toThrow(RangeError);
    expect(() => createDownloadPool(1.5)).toThrow(RangeError);
  });
});
