import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { createDownloadAgent } from "../../../src/models/download/download-agent.js";
import { streamedGet } from "../../../src/models/download/streamed-get.js";

// The download agent lends reused read buffers; these tests check that no byte of a header or a
// body is ever read from a buffer after it was reused, in the read patterns that could expose it.

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** Reads a body the way downloads do (each chunk used only during its call) and returns a copy. */
async function fetchBody(agent: ReturnType<typeof createDownloadAgent>, url: string, onChunk?: () => void) {
  const response = await streamedGet(agent, url, { headers: {}, timeoutMs: 5_000 });
  const hash = createHash("sha256");
  let bytes = 0;
  await response.consume((chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
    onChunk?.();
  });
  return { statusCode: response.statusCode, headers: response.headers, bytes, sha256: hash.digest("hex") };
}

/** A TCP server that writes each response as the given pieces, pausing between them so they arrive as separate reads. */
async function startRawServer(respond: (socket: Socket, index: number) => Promise<void>) {
  const sockets = new Set<Socket>();
  let index = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("data", () => {
      respond(socket, index++).catch(() => socket.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function writePieces(socket: Socket, pieces: Buffer[]) {
  for (const piece of pieces) {
    socket.write(piece);
    await sleep(1);
  }
}

describe("download agent (reused read buffers)", () => {
  it("keeps headers that arrive in many reads, and bodies read in reads of every size, intact", async () => {
    const bodies = [randomBytes(3 * 1024 * 1024 + 7), randomBytes(1024 * 1024 + 3)];
    const marker = "x".repeat(4000);
    const url = await startRawServer(async (socket, index) => {
      const body = bodies[index] as Buffer;
      // A whole header line in one read, then ten more header lines of 1 kB each in reads of
      // their own (the parser holds a view of the first read until the head ends), then the
      // body in reads of every size around the copy threshold and the buffer size.
      const pieces = [
        Buffer.from(`HTTP/1.1 200 OK\r\nx-marker: ${marker}${index}\r\n`),
        ...Array.from({ length: 10 }, (_, i) => Buffer.from(`x-pad-${i}: ${"p".repeat(1000)}\r\n`)),
        Buffer.from(`content-length: ${body.length}\r\nx-after: yes\r\n`),
      ];
      const rest = Buffer.concat([Buffer.from("\r\n"), body]);
      const sizes = [1, 16 * 1024 - 1, 16 * 1024, 64 * 1024, 64 * 1024 + 1, 300 * 1024, 5];
      for (let at = 0, i = 0; at < rest.length; i++) {
        const size = sizes[i % sizes.length] as number;
        pieces.push(rest.subarray(at, at + size));
        at += size;
      }
      await writePieces(socket, pieces);
    });
    const agent = createDownloadAgent();
    closers.push(() => agent.close());
    // Two requests on one kept-alive connection.
    for (const [index, body] of bodies.entries()) {
      const got = await fetchBody(agent, `${url}/file${index}`);
      expect(got.statusCode).toBe(200);
      expect(got.headers["x-marker"]).toBe(`${marker}${index}`);
      expect(got.headers["x-after"]).toBe("yes");
      expect(got.bytes).toBe(body.length);
      expect(got.sha256).toBe(sha256(body));
    }
  });

  it("reads the real answer after a 103 Early Hints", async () => {
    const body = randomBytes(200_000);
    const url = await startRawServer(async (socket) => {
      socket.write("HTTP/1.1 103 Early Hints\r\nlink: </x.css>; rel=preload\r\n\r\n");
      await sleep(5);
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`);
      socket.write(body);
    });
    const agent = createDownloadAgent();
    closers.push(() => agent.close());
    const got = await fetchBody(agent, `${url}/hinted`);
    expect(got.statusCode).toBe(200);
    expect(got.sha256).toBe(sha256(body));
  });

  it("keeps a body intact when the reader stalls and many reads queue up", async () => {
    const body = randomBytes(24 * 1024 * 1024);
    const url = await startRawServer(async (socket) => {
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`);
      socket.write(body);
    });
    const agent = createDownloadAgent();
    closers.push(() => agent.close());
    let chunks = 0;
    const got = await fetchBody(agent, `${url}/big`, () => {
      // Every 50th chunk holds the event loop for 20 ms, as a slow disk would, so the kernel
      // buffers fill and the next poll finds many reads' worth of data.
      if (++chunks % 50 === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    });
    expect(got.bytes).toBe(body.length);
    expect(got.sha256).toBe(sha256(body));
  });

  it("reads a body over TLS intact", async () => {
    const tls = new URL("../../support/tls/", import.meta.url);
    const cert = readFileSync(new URL("localhost-cert.pem", tls));
    const body = randomBytes(8 * 1024 * 1024 + 11);
    const server = createHttpsServer(
      { cert, key: readFileSync(new URL("localhost-key.pem", tls)) },
      (_req, res) => {
        res.writeHead(200, { "content-length": body.length });
        res.end(body);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const agent = createDownloadAgent({ ca: cert });
    closers.push(() => agent.close());
    const got = await fetchBody(
      agent,
      `https://127.0.0.1:${(server.address() as AddressInfo).port}/model.onnx`,
    );
    expect(got.bytes).toBe(body.length);
    expect(got.sha256).toBe(sha256(body));
  });
});
