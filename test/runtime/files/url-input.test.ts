import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CanceledError,
  ResourceError,
  RetryableError,
  ValidationError,
} from "../../../src/contract/errors.js";
import { downloadUrl, retryDelayMs, type UrlDownloadOptions } from "../../../src/runtime/files/url-input.js";
import { mountSmallDisk } from "../../support/small-disk.js";
import {
  fakeLookup,
  type Handler,
  loopbackOnlyConnector,
  makeTempDir,
  PNG_BYTES,
  sha256,
  startServer,
  type TestServer,
} from "./servers.js";

let dir: { path: string; remove(): Promise<void> };
const servers: TestServer[] = [];

beforeEach(async () => {
  dir = await makeTempDir();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await dir.remove();
});

async function serve(handler: Handler, host?: string): Promise<TestServer> {
  const server = await startServer(handler, host);
  servers.push(server);
  return server;
}

/** Options with the loopback-only socket opener and a resolver that never asks DNS. */
function options(overrides: Partial<UrlDownloadOptions> = {}) {
  const guard = loopbackOnlyConnector();
  const opts: UrlDownloadOptions = {
    destDir: dir.path,
    maxBytes: 1024 * 1024,
    retryBaseDelayMs: 1,
    connect: guard.connect,
    lookup: fakeLookup({}),
    ...overrides,
  };
  return { opts, calls: guard.calls };
}

async function leftovers(): Promise<string[]> {
  return (await readdir(dir.path)).filter((name) => name.endsWith(".part"));
}

describe("retryDelayMs", () => {
  it("doubles from the base up to 20 times it, plus up to 40% of the base", () => {
    for (const [attempt, low] of [
      [1, 500],
      [2, 1000],
      [3, 2000],
      [5, 8000],
      [6, 10_000],
      [12, 10_000],
    ] as const) {
      const delay = retryDelayMs(attempt, 500);
      expect(delay).toBeGreaterThanOrEqual(low);
      expect(delay).toBeLessThanOrEqual(low + 200);
    }
  });
});

describe("downloadUrl", () => {
  it("downloads to <sha256(url)[:32]><ext>, with size, sha256 and sniffed mime", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(PNG_BYTES);
    });
    const url = `${server.origin}/images/Photo.PNG?sig=secret`;
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`] });
    const info = await downloadUrl(url, opts);
    expect(info).toEqual({
      ref: url,
      localPath: join(dir.path, `${sha256(url).slice(0, 32)}.png`),
      mimeType: "image/png",
      sizeBytes: PNG_BYTES.byteLength,
      sha256: sha256(PNG_BYTES),
    });
    expect(await readFile(info.localPath ?? "")).toEqual(PNG_BYTES);
    expect(await leftovers()).toEqual([]);
  });

  it("falls back to the declared Content-Type when neither magic nor extension tells", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/csv; charset=utf-8" }).end("a,b\n1,2\n");
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`] });
    const info = await downloadUrl(`${server.origin}/export`, opts);
    expect(info.mimeType).toBe("text/csv");
    expect(info.localPath?.endsWith(sha256(`${server.origin}/export`).slice(0, 32))).toBe(true);
  });

  it("enforces the size cap while streaming a chunked body, leaving no file", async () => {
    const server = await serve(async (_req, res) => {
      res.writeHead(200);
      for (let index = 0; index < 8; index++) {
        res.write(Buffer.alloc(1000, index));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      res.end();
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`], maxBytes: 2500 });
    const error = await downloadUrl(`${server.origin}/big.bin`, opts).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ResourceError);
    expect((error as Error).message).toBe("input file too large: more than 2500 bytes");
    expect(await readdir(dir.path)).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  it("refuses a declared Content-Length over the cap without reading the body", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": 5000 }).end(Buffer.alloc(5000));
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`], maxBytes: 100 });
    await expect(downloadUrl(`${server.origin}/x`, opts)).rejects.toThrow(ResourceError);
    expect(server.requests).toHaveLength(1);
  });

  it("retries 503 and succeeds", async () => {
    let calls = 0;
    const server = await serve((_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(503).end("busy");
      else res.writeHead(200).end("hello");
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`], retries: 3 });
    const info = await downloadUrl(`${server.origin}/a.txt`, opts);
    expect(info.sizeBytes).toBe(5);
    expect(info.mimeType).toBe("text/plain");
    expect(server.requests).toHaveLength(2);
  });

  it("retries 429 and 5xx up to the attempt count, then fails retryable", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(server.requests.length === 1 ? 429 : 502).end();
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`], retries: 3 });
    const error = await downloadUrl(`${server.origin}/a`, opts).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toContain("after 3 attempts");
    expect((error as Error).message).toContain("HTTP 502");
    expect(server.requests).toHaveLength(3);
  });

  it("does not retry a 404", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(404).end();
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`], retries: 3 });
    const error = await downloadUrl(`${server.origin}/missing.png?token=abc`, opts).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toBe(`input url returned HTTP 404: ${server.origin}/missing.png`);
    expect(server.requests).toHaveLength(1);
  });

  it("retries a truncated body and keeps no partial file", async () => {
    const server = await serve((_req, res) => {
      if (server.requests.length === 1) {
        res.writeHead(200, { "content-length": 1000 });
        res.write(Buffer.alloc(100));
        setTimeout(() => res.destroy(), 10);
        return;
      }
      res.writeHead(200, { "content-length": 1000 }).end(Buffer.alloc(1000, 7));
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`], retries: 2 });
    const info = await downloadUrl(`${server.origin}/t.bin`, opts);
    expect(info.sizeBytes).toBe(1000);
    expect(info.sha256).toBe(sha256(Buffer.alloc(1000, 7)));
    expect(server.requests).toHaveLength(2);
    expect(await leftovers()).toEqual([]);
  });

  it("fails retryable when every attempt is truncated", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": 1000 });
      res.write(Buffer.alloc(10));
      setTimeout(() => res.destroy(), 5);
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`], retries: 2 });
    await expect(downloadUrl(`${server.origin}/t.bin`, opts)).rejects.toThrow(RetryableError);
    expect(server.requests).toHaveLength(2);
    expect(await readdir(dir.path)).toEqual([]);
  });

  it("times an attempt out when the body stalls, and retries", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": 100 });
      res.write(Buffer.alloc(10));
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`], retries: 2, timeoutMs: 150 });
    const error = await downloadUrl(`${server.origin}/slow`, opts).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toContain("timed out");
    expect(server.requests).toHaveLength(2);
  });

  it("allows a slow download whose chunks keep coming", async () => {
    const server = await serve(async (_req, res) => {
      res.writeHead(200);
      for (let index = 0; index < 8; index++) {
        res.write(Buffer.alloc(10, index));
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      res.end();
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`], retries: 1, timeoutMs: 150 });
    const info = await downloadUrl(`${server.origin}/drip`, opts);
    expect(info.sizeBytes).toBe(80);
    expect(server.requests).toHaveLength(1);
  });

  it("retries when the headers are slow to come", async () => {
    const server = await serve(async (_req, res) => {
      // undici checks these timeouts on a coarse clock (about 0.5 s), so the stall is long.
      if (server.requests.length === 1) await new Promise((resolve) => setTimeout(resolve, 3000));
      res.writeHead(200).end("late");
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`], retries: 2, timeoutMs: 200 });
    const info = await downloadUrl(`${server.origin}/late`, opts);
    expect(info.sizeBytes).toBe(4);
    expect(server.requests).toHaveLength(2);
  });

  it("stops at once when the run is canceled", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": 100 });
      res.write(Buffer.alloc(10));
    });
    const controller = new AbortController();
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`], signal: controller.signal });
    setTimeout(() => controller.abort(new CanceledError("run canceled")), 50);
    const error = await downloadUrl(`${server.origin}/slow`, opts).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CanceledError);
    expect(server.requests).toHaveLength(1);
  });

  it("follows redirects on an allowed host", async () => {
    const server = await serve((req, res) => {
      if (req.url === "/start") res.writeHead(302, { location: "/middle" }).end();
      else if (req.url === "/middle") res.writeHead(301, { location: `${server.origin}/file.png` }).end();
      else res.writeHead(200).end(PNG_BYTES);
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`] });
    const info = await downloadUrl(`${server.origin}/start`, opts);
    expect(info.mimeType).toBe("image/png");
    expect(server.requests.map((request) => request.url)).toEqual(["/start", "/middle", "/file.png"]);
  });

  it("stops after 5 redirects", async () => {
    const server = await serve((req, res) => {
      const hop = Number(req.url?.slice(1));
      res.writeHead(302, { location: `/${hop + 1}` }).end();
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`] });
    const error = await downloadUrl(`${server.origin}/0`, opts).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain("redirected more than 5 times");
    expect(server.requests).toHaveLength(6);
  });

  it("blocks a redirect to a loopback host that is not allow-listed, and never reaches it", async () => {
    const target = await serve((_req, res) => {
      res.writeHead(200).end("secret");
    });
    const first = await serve((_req, res) => {
      res.writeHead(302, { location: `${target.origin}/admin` }).end();
    });
    const { opts, calls } = options({ allowHosts: [`127.0.0.1:${first.port}`] });
    const error = await downloadUrl(`${first.origin}/start`, opts).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toBe(
      "input url blocked: 127.0.0.1 resolves to a private, loopback or link-local address",
    );
    expect(target.requests).toHaveLength(0);
    expect(calls).toEqual([`127.0.0.1:${first.port}`]);
  });

  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://localhost./",
  ])("blocks a redirect to %s before connecting", async (location) => {
    const first = await serve((_req, res) => {
      res.writeHead(307, { location }).end();
    });
    const { opts, calls } = options({ allowHosts: [`127.0.0.1:${first.port}`] });
    await expect(downloadUrl(`${first.origin}/start`, opts)).rejects.toThrow(/^input url blocked: /);
    expect(calls).toEqual([`127.0.0.1:${first.port}`]);
  });

  it("refuses a redirect to another scheme", async () => {
    const first = await serve((_req, res) => {
      res.writeHead(302, { location: "file:///etc/passwd" }).end();
    });
    const { opts } = options({ allowHosts: [`127.0.0.1:${first.port}`] });
    await expect(downloadUrl(`${first.origin}/start`, opts)).rejects.toThrow("input url must be http(s)");
  });

  it("blocks loopback URLs without allowHosts, before any socket", async () => {
    const v4 = await serve((_req, res) => {
      res.writeHead(200).end("x");
    });
    const v6 = await serve((_req, res) => {
      res.writeHead(200).end("x");
    }, "::1");
    for (const url of [`${v4.origin}/`, `${v6.origin}/`, `http://localhost:${v4.port}/`]) {
      const { opts, calls } = options({ retries: 3 });
      const error = await downloadUrl(url, opts).catch((caught: unknown) => caught);
      expect(error, url).toBeInstanceOf(ValidationError);
      expect((error as Error).message, url).toMatch(/^input url blocked: /);
      expect(calls, url).toEqual([]);
    }
    expect(v4.requests).toHaveLength(0);
    expect(v6.requests).toHaveLength(0);
  });

  it("downloads from ::1 when allow-listed", async () => {
    const v6 = await serve((_req, res) => {
      res.writeHead(200).end("six");
    }, "::1");
    const { opts, calls } = options({ allowHosts: [`[::1]:${v6.port}`] });
    const info = await downloadUrl(`${v6.origin}/a.txt`, opts);
    expect(info.sizeBytes).toBe(3);
    expect(calls).toEqual([`::1:${v6.port}`]);
  });

  it.each([
    "http://10.0.0.1/a.png",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0:8080/",
    "http://0/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://[fe80::1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "https://[fd00::1]:8443/",
    "http://metadata.localhost/",
  ])("blocks %s before any socket", async (url) => {
    const { opts, calls } = options();
    const error = await downloadUrl(url, opts).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/^input url blocked: /);
    expect(calls).toEqual([]);
  });

  it("blocks a name that resolves to a private address, in the connector", async () => {
    const { opts, calls } = options({
      lookup: fakeLookup({ "internal.test": ["93.184.216.34", "10.1.2.3"] }),
    });
    await expect(downloadUrl("http://internal.test/x.png", opts)).rejects.toThrow(
      "input url blocked: internal.test resolves to a private, loopback or link-local address",
    );
    expect(calls).toEqual([]);
  });

  it("connects an allow-listed name to the address it checked", async () => {
    const server = await serve((req, res) => {
      res.writeHead(200).end(req.headers.host);
    });
    const { opts, calls } = options({
      allowHosts: [`files.test:${server.port}`],
      lookup: fakeLookup({ "files.test": ["127.0.0.1"] }),
    });
    const info = await downloadUrl(`http://files.test:${server.port}/h.txt`, opts);
    expect(await readFile(info.localPath ?? "", "utf8")).toBe(`files.test:${server.port}`);
    expect(calls).toEqual([`127.0.0.1:${server.port}`]);
  });

  it("reports an unknown host as a validation error without retrying", async () => {
    const { opts } = options({ retries: 3 });
    await expect(downloadUrl("http://nowhere.test/", opts)).rejects.toThrow(ValidationError);
  });

  it.each(["ftp://example.com/a", "file:///etc/passwd", "not a url", "gopher://x/"])(
    "refuses %s as not http(s)",
    async (url) => {
      const { opts, calls } = options();
      await expect(downloadUrl(url, opts)).rejects.toThrow(/^input url must be http\(s\)/);
      expect(calls).toEqual([]);
    },
  );
});

describe("downloadUrl on a full disk", () => {
  it("leaves no partial file and says how much was needed, where, and what to do", async (ctx) => {
    const disk = await mountSmallDisk(1024 * 1024);
    if ("skip" in disk) return ctx.skip(disk.skip);
    try {
      const big = Buffer.alloc(2_000_000, 7);
      const server = await serve((req, res) => {
        if (req.url === "/chunked.bin") res.writeHead(200);
        else res.writeHead(200, { "content-length": big.length });
        res.end(big);
      });
      const destDir = join(disk.path, "run-1", "inputs");
      const { opts } = options({ allowHosts: [`127.0.0.1:${server.port}`], destDir, maxBytes: 0 });

      const error = await downloadUrl(`${server.origin}/big.bin`, opts).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ResourceError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^no space left on the worker's disk for an input file \\(ENOSPC\\): it needs 2\\.00 MB in ${destDir} \\(.* free\\); free space on that disk, or set WORKER_RUN_DIR to a folder on a bigger one$`,
        ),
      );
      expect(await readdir(destDir)).toEqual([]);

      // Without a Content-Length, the message tells the least it needed.
      const chunked = await downloadUrl(`${server.origin}/chunked.bin`, opts).catch(
        (caught: unknown) => caught,
      );
      expect((chunked as Error).message).toMatch(/it needs more than 1\.\d+ MB in /);
      expect(await readdir(destDir)).toEqual([]);

      // The space is free again: a small input fits.
      const small = await serve((_req, res) => {
        res.writeHead(200).end(PNG_BYTES);
      });
      const smallOpts = options({ allowHosts: [`127.0.0.1:${small.port}`], destDir, maxBytes: 0 }).opts;
      const info = await downloadUrl(`${small.origin}/cat.png`, smallOpts);
      expect(await readFile(info.localPath ?? "")).toEqual(PNG_BYTES);
    } finally {
      await disk.remove();
    }
  });
});
