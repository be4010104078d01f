/**
 * The dev runner's WebSocket endpoint, `/v1/realtime/{endpoint}`, through a plain `ws` client: the
 * same sessions as the production worker's, a close reason per WebSocket close, and flow control
 * instead of `overflow` (a WebSocket can make its client wait).
 */
import { readFile, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  REPO_ROOT,
  type RunnerProcess,
  removeTenantBundles,
  startRunner,
} from "../../support/runner-process.js";

const PROJECT = join(REPO_ROOT, "test/projects/realtime");

interface Closed {
  code: number;
  reason: string;
  frames: { text: string; binary: boolean }[];
  sessionId: string;
}

let runner: RunnerProcess;

beforeAll(async () => {
  runner = await startRunner(PROJECT, { WORKER_MAX_WS_FRAME_BYTES: "1024" });
}, 40_000);

afterAll(async () => {
  if (!runner) return;
  await runner.stop();
  await rm(runner.outputsDir, { recursive: true, force: true });
  await removeTenantBundles(PROJECT, runner.child.pid);
});

/** Opens a session, sends `frames` once open, and resolves when the WebSocket closes. */
function session(
  endpoint: string,
  frames: (string | Buffer)[],
  options: { query?: string; onOpen?: (ws: WebSocket) => void } = {},
): Promise<Closed> {
  const ws = new WebSocket(
    `${runner.url.replace("http", "ws")}/v1/realtime/${endpoint}${options.query ?? ""}`,
  );
  const received: Closed["frames"] = [];
  let sessionId = "";
  ws.on("upgrade", (res: IncomingMessage) => {
    sessionId = String(res.headers["x-cozy-session-id"] ?? "");
  });
  ws.on("open", () => {
    for (const frame of frames) ws.send(frame, { binary: typeof frame !== "string" });
    options.onOpen?.(ws);
  });
  ws.on("message", (data: Buffer, isBinary: boolean) =>
    received.push({ text: data.toString(), binary: isBinary }),
  );
  return new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("close", (code: number, reason: Buffer) =>
      resolve({ code, reason: reason.toString(), frames: received, sessionId }),
    );
  });
}

describe("the dev runner's realtime WebSocket", () => {
  it("echoes frames both ways and closes 1000 completed when the handler returns; names the session", async () => {
    const closed = await session("greet", ["hi"], { query: "?session_id=ws-greet" });
    expect(closed).toEqual({
      code: 1000,
      reason: "completed",
      sessionId: "ws-greet",
      frames: [
        { text: "hello ws-greet", binary: false },
        { text: '{"bytes":2,"text":"hi"}', binary: false },
      ],
    });
  });

  it("sends bytes back as binary frames, in order, for a text or binary frame alike", async () => {
    const closed = await session("echoBytes", ["a", Buffer.from([0, 1, 2])], {
      onOpen: (ws) => setTimeout(() => ws.close(1000, "done"), 200),
    });
    expect(closed.frames).toEqual([
      { text: "a", binary: true },
      { text: "\u0000\u0001\u0002", binary: true },
    ]);
    expect(closed).toMatchObject({ code: 1000, reason: "done" });
  });

  it("closes 1000 closed when the handler closes the socket", async () => {
    const closed = await session("shout", ["one", "bye", "two"]);
    expect(closed).toMatchObject({ code: 1000, reason: "closed", frames: [{ text: "ONE", binary: false }] });
  });

  it("closes 1011 error:<ErrorClass> when the handler throws", async () => {
    const closed = await session("explode", ["x"]);
    expect(closed).toMatchObject({ code: 1011, reason: "error:StreamBroke" });
    await new Promise((done) => setTimeout(done, 200));
    expect(runner.stderr()).toMatch(
      /ws explode \S+ [\d.]+ ms error:StreamBroke \(StreamBroke: cannot handle 1 bytes\)/,
    );
  });

  it("closes 1008 unknown_function for an endpoint without a realtime handler (task handlers included)", async () => {
    expect(await session("nope", [])).toMatchObject({ code: 1008, reason: "unknown_function" });
    expect(await session("add", [])).toMatchObject({ code: 1008, reason: "unknown_function" });
  });

  it("closes 1009 frame_too_large for a frame over WORKER_MAX_WS_FRAME_BYTES, also one far over it", async () => {
    // The oversized frame follows the echo of the first: a frame_too_large close drops unread frames.
    const closed = await session("echoBytes", [Buffer.alloc(1024)], {
      onOpen: (ws) => ws.once("message", () => ws.send(Buffer.alloc(1025))),
    });
    expect(closed).toMatchObject({ code: 1009, reason: "frame_too_large" });
    expect(closed.frames.map((frame) => frame.text.length)).toEqual([1024]);
    const huge = await session("echoBytes", [Buffer.alloc(64 * 1024)]);
    expect(huge.code).toBe(1009);
  });

  it("aborts the handler when the client closes: its signal aborts, the iteration ends, its files are saved", async () => {
    const closed = await session("watch", ["1", "2", "3"], {
      query: "?session_id=ws-watch",
      onOpen: (ws) => setTimeout(() => ws.close(1000, "bye"), 200),
    });
    expect(closed).toMatchObject({ code: 1000, reason: "bye" });
    const saved = join(runner.outputsDir, "runs", "ws-watch", "outputs", "ended.json");
    let text = "";
    for (let waited = 0; waited < 5000 && text === ""; waited += 50) {
      text = await readFile(saved, "utf8").catch(() => "");
      if (text === "") await new Promise((done) => setTimeout(done, 50));
    }
    expect(JSON.parse(text)).toEqual({ frames: 3, aborted: true });
  });

  it("makes a fast client wait instead of closing with overflow: every frame arrives, in order", async () => {
    const frames = Array.from({ length: 2000 }, (_, i) => `${i}:${"x".repeat(900)}`);
    const closed = await session("slowCount", [...frames, "end"]);
    expect(closed).toMatchObject({ code: 1000, reason: "completed" });
    expect(closed.frames).toEqual([{ text: '{"count":2000,"order":true}', binary: false }]);
  });

  it("answers 404 to a WebSocket on another path, and leaves the HTTP routes as they were", async () => {
    const ws = new WebSocket(`${runner.url.replace("http", "ws")}/v1/run/greet`);
    const status = await new Promise<number>((resolve) => {
      ws.on("unexpected-response", (_req, res: IncomingMessage) => resolve(res.statusCode ?? 0));
      ws.on("error", () => {});
    });
    expect(status).toBe(404);
    const response = await fetch(`${runner.url}/v1/run/add`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: 1, b: 2 }),
    });
    expect(((await response.json()) as { output: unknown }).output).toEqual({ sum: 3 });
  });
});
