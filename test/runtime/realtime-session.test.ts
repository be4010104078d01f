/**
 * Realtime sessions in the runtime, without a transport: the rules of the Python SDK (gen-worker 0.2.1)
 * for close reasons, the inbound queue and the socket, and where gen-worker departs from it (an overrun
 * queue closes with `overflow` instead of dropping frames silently; a frame over the limit also stops
 * the handler; the worker sends nothing after the peer closed).
 */
import { describe, expect, it } from "vitest";
import { CanceledError, ValidationError } from "../../src/contract/errors.js";
import type { RunEvent } from "../../src/contract/events.js";
import type { ActionContext, RealtimeSocket } from "../../src/contract/handler-api.js";
import type { Manifest, RealtimeManifestFunction } from "../../src/contract/manifest.js";
import type {
  RealtimeCloseReason,
  RealtimeOpenRequest,
  RealtimeTransport,
} from "../../src/contract/realtime.js";
import type { HandlerTable } from "../../src/runtime/executor.js";
import { FRAME_OVERHEAD_BYTES, FrameQueue } from "../../src/runtime/realtime/frame-queue.js";
import { RealtimeHost } from "../../src/runtime/realtime/host.js";
import { errorReason, type SessionEnd } from "../../src/runtime/realtime/session.js";
import { runtimeSettingsFromEnv } from "../../src/settings/runtime.js";

const text = new TextDecoder();
const bytes = (value: string) => new TextEncoder().encode(value);

/** The peer's side of a session: what it received, in order. */
class Peer implements RealtimeTransport {
  readonly frames: { text: string; isText: boolean }[] = [];
  readonly closes: RealtimeCloseReason[] = [];
  pauses = 0;
  resumes = 0;
  private closed: () => void = () => {};
  readonly closedWith = new Promise<RealtimeCloseReason>((resolve) => {
    this.closed = () => resolve(this.closes[0] as RealtimeCloseReason);
  });

  pause?: () => void;
  resume?: () => void;

  constructor(flowControl = false) {
    if (flowControl) {
      this.pause = () => this.pauses++;
      this.resume = () => this.resumes++;
    }
  }

  sendFrame(data: Uint8Array, isText: boolean): void {
    this.frames.push({ text: text.decode(data), isText });
  }

  close(reason: RealtimeCloseReason): void {
    this.closes.push(reason);
    this.closed();
  }
}

function realtimeFunction(name: string): RealtimeManifestFunction {
  return {
    name,
    endpoint_name: name.toLowerCase(),
    module: "src/main.ts",
    export: name,
    socket_param: "socket",
    injection_json: [],
    required_models: [],
  };
}

type Handler = (ctx: ActionContext, socket: RealtimeSocket) => Promise<void>;

function hostWith(
  handlers: Record<string, Handler>,
  env: Record<string, string> = {},
  extra: { onEvent?: (event: RunEvent) => void } = {},
) {
  const ends: SessionEnd[] = [];
  const manifest: Manifest = {
    project_name: "realtime-unit",
    functions: [],
    realtime_functions: Object.keys(handlers).map(realtimeFunction),
    runtime: { language: "typescript", node: ">=20", gen_worker: "*", main: "src/main.ts" },
  };
  const host = new RealtimeHost({
    manifest,
    handlers: handlers as HandlerTable,
    settings: runtimeSettingsFromEnv(env),
    onSessionEnd: (end) => ends.push(end),
    ...extra,
  });
  return { host, ends };
}

let sessions = 0;
function request(functionName: string, extra: Partial<RealtimeOpenRequest> = {}): RealtimeOpenRequest {
  return { sessionId: `s-${++sessions}`, functionName, ...extra };
}

async function settled(host: RealtimeHost): Promise<void> {
  for (let waited = 0; host.active > 0; waited += 5) {
    if (waited > 5000) throw new Error("sessions did not end within 5 s");
    await new Promise((done) => setTimeout(done, 5));
  }
}

const tick = () => new Promise((done) => setImmediate(done));

describe("close reasons", () => {
  it("echoes frames in order and closes with completed when the handler returns", async () => {
    const { host, ends } = hostWith({
      Echo: async (_ctx, socket) => {
        for await (const frame of socket) {
          if (text.decode(frame) === "stop") return;
          socket.send(frame);
        }
      },
    });
    const peer = new Peer();
    const outcome = host.open(request("echo"), peer);
    expect("session" in outcome).toBe(true);
    for (const line of ["a", "b", "c", "stop", "late"]) host.frame(`s-${sessions}`, bytes(line));
    expect(await peer.closedWith).toBe("completed");
    expect(peer.frames).toEqual([
      { text: "a", isText: false },
      { text: "b", isText: false },
      { text: "c", isText: false },
    ]);
    await settled(host);
    expect(ends[0]).toMatchObject({ reason: "completed", closedBy: "worker", functionName: "Echo" });
  });

  it("closes with closed when the handler calls socket.close(); later sends are ignored", async () => {
    const { host } = hostWith({
      Quit: async (_ctx, socket) => {
        socket.send("before");
        socket.close();
        socket.close();
        socket.send("after");
        socket.sendJson({ after: true });
        expect(socket.closed).toBe(true);
      },
    });
    const peer = new Peer();
    host.open(request("Quit"), peer);
    expect(await peer.closedWith).toBe("closed");
    await settled(host);
    expect(peer.frames).toEqual([{ text: "before", isText: true }]);
    expect(peer.closes).toEqual(["closed"]);
  });

  it("closes with error:<ErrorClass> by the class of what the handler threw", async () => {
    class StreamBroke extends Error {}
    const cases: [Handler, string][] = [
      [
        async () => {
          throw new StreamBroke("x");
        },
        "error:StreamBroke",
      ],
      [
        async () => {
          throw new TypeError("x");
        },
        "error:TypeError",
      ],
      [
        async () => {
          throw new ValidationError("x");
        },
        "error:ValidationError",
      ],
      [
        () => {
          throw new RangeError("thrown synchronously");
        },
        "error:RangeError",
      ],
    ];
    for (const [handler, reason] of cases) {
      const { host, ends } = hostWith({ Fails: handler });
      const peer = new Peer();
      host.open(request("Fails"), peer);
      expect(await peer.closedWith).toBe(reason);
      await settled(host);
      expect(ends[0]?.failure?.errorMessage).toMatch(/: (x|thrown synchronously)$/);
    }
    expect(errorReason("a string")).toBe("error:Error");
    expect(errorReason(new CanceledError())).toBe("error:CanceledError");
  });

  it("closes an unknown function with unknown_function and keeps no session", () => {
    const { host } = hostWith({ Echo: async () => {} });
    const peer = new Peer();
    expect(host.open(request("nope"), peer)).toEqual({ refused: "unknown_function" });
    expect(peer.closes).toEqual(["unknown_function"]);
    expect(host.active).toBe(0);
  });

  it("closes with frame_too_large for a frame over WORKER_MAX_WS_FRAME_BYTES, and aborts the handler", async () => {
    let abortedWith = "";
    const { host } = hostWith(
      {
        Hold: async (ctx, socket) => {
          ctx.signal.addEventListener("abort", () => {
            abortedWith = (ctx.signal.reason as Error).message;
          });
          for await (const _frame of socket) {
            // reads until the session ends
          }
        },
      },
      { WORKER_MAX_WS_FRAME_BYTES: "8" },
    );
    const peer = new Peer();
    const { sessionId } = request("Hold");
    host.open({ sessionId, functionName: "Hold" }, peer);
    await tick();
    host.frame(sessionId, bytes("12345678"));
    host.frame(sessionId, bytes("123456789"));
    expect(await peer.closedWith).toBe("frame_too_large");
    await settled(host);
    expect(abortedWith).toBe("an inbound frame of 9 bytes is over WORKER_MAX_WS_FRAME_BYTES (8)");
    expect(peer.closes).toEqual(["frame_too_large"]);
  });

  it("closes with overflow when frames outrun a handler that does not read, instead of dropping them", async () => {
    const { host } = hostWith(
      { Stall: (ctx) => new Promise((done) => ctx.signal.addEventListener("abort", () => done())) },
      { WORKER_MAX_WS_FRAME_BYTES: "100" },
    );
    const peer = new Peer();
    const { sessionId } = request("Stall");
    host.open({ sessionId, functionName: "Stall" }, peer);
    // The queue holds 16 frames' worth of the limit: 1,600 bytes, each frame counted with its overhead.
    const fits = Math.floor(1600 / (100 + FRAME_OVERHEAD_BYTES));
    for (let i = 0; i < fits; i++) host.frame(sessionId, new Uint8Array(100));
    await tick();
    expect(peer.closes).toEqual([]);
    host.frame(sessionId, new Uint8Array(100));
    expect(await peer.closedWith).toBe("overflow");
    await settled(host);
  });

  it("pauses a transport that has flow control instead, and resumes it once the handler read half", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((done) => {
      release = done;
    });
    const { host } = hostWith(
      {
        Count: async (_ctx, socket) => {
          await gate;
          let count = 0;
          for await (const frame of socket) {
            if (text.decode(frame) === "end") break;
            count++;
          }
          socket.sendJson({ count });
        },
      },
      { WORKER_MAX_WS_FRAME_BYTES: "100" },
    );
    const peer = new Peer(true);
    const { sessionId } = request("Count");
    host.open({ sessionId, functionName: "Count" }, peer);
    for (let i = 0; i < 40; i++) host.frame(sessionId, new Uint8Array(100));
    host.frame(sessionId, bytes("end"));
    expect(peer.pauses).toBe(1);
    expect(peer.closes).toEqual([]);
    release();
    expect(await peer.closedWith).toBe("completed");
    expect(peer.frames).toEqual([{ text: '{"count":40}', isText: true }]);
    expect(peer.resumes).toBe(1);
  });
});

describe("the peer closing", () => {
  it("aborts ctx.signal, ends the iteration after the frames already queued, and sends nothing", async () => {
    const seen: string[] = [];
    let aborted = false;
    const { host, ends } = hostWith({
      Watch: async (ctx, socket) => {
        for await (const frame of socket) seen.push(text.decode(frame));
        aborted = ctx.signal.aborted;
        socket.send("too late");
      },
    });
    const peer = new Peer();
    const { sessionId } = request("Watch");
    host.open({ sessionId, functionName: "Watch" }, peer);
    await tick();
    host.frame(sessionId, bytes("one"));
    host.frame(sessionId, bytes("two"));
    expect(host.peerClosed(sessionId)).toBe(true);
    host.frame(sessionId, bytes("after the close"));
    await settled(host);
    expect(seen).toEqual(["one", "two"]);
    expect(aborted).toBe(true);
    expect(peer.frames).toEqual([]);
    expect(peer.closes).toEqual([]);
    expect(ends[0]).toMatchObject({ reason: "closed", closedBy: "peer" });
  });

  it("ignores frames and closes for session ids that are not open", () => {
    const { host } = hostWith({ Echo: async () => {} });
    expect(host.frame("nobody", bytes("x"))).toBe(false);
    expect(host.peerClosed("nobody")).toBe(false);
  });
});

describe("the socket", () => {
  it("refuses a frame over the limit with a RangeError that names the variable; sendJson is compact text", async () => {
    let refusal: Error | undefined;
    const { host } = hostWith(
      {
        Send: async (_ctx, socket) => {
          socket.sendJson({ b: [1, 2], a: "é" });
          socket.send(new Uint8Array([0, 255]));
          try {
            socket.send("x".repeat(33));
          } catch (error) {
            refusal = error as Error;
          }
          expect(() => socket.sendJson(undefined)).toThrow(TypeError);
          expect(() => socket.send(42 as unknown as string)).toThrow(
            /needs a Uint8Array or a string, got number/,
          );
        },
      },
      { WORKER_MAX_WS_FRAME_BYTES: "32" },
    );
    const peer = new Peer();
    host.open(request("Send"), peer);
    expect(await peer.closedWith).toBe("completed");
    expect(peer.frames).toEqual([
      { text: '{"b":[1,2],"a":"é"}', isText: true },
      { text: "\u0000\ufffd", isText: false },
    ]);
    expect(refusal).toBeInstanceOf(RangeError);
    expect(refusal?.message).toBe(
      "a frame of 33 bytes is over the limit of 32 (WORKER_MAX_WS_FRAME_BYTES): send smaller frames, or raise the limit",
    );
  });

  it("leaving a for-await loop early keeps the session open; frames arrive as plain Uint8Arrays", async () => {
    const { host } = hostWith({
      TwoLoops: async (_ctx, socket) => {
        for await (const frame of socket) {
          socket.send(`first ${text.decode(frame)} ${Object.getPrototypeOf(frame) === Uint8Array.prototype}`);
          break;
        }
        for await (const frame of socket) {
          socket.send(`second ${text.decode(frame)}`);
          return;
        }
      },
    });
    const peer = new Peer();
    const { sessionId } = request("TwoLoops");
    host.open({ sessionId, functionName: "TwoLoops" }, peer);
    host.frame(sessionId, Buffer.from("a"));
    host.frame(sessionId, bytes("b"));
    expect(await peer.closedWith).toBe("completed");
    expect(peer.frames.map((frame) => frame.text)).toEqual(["first a true", "second b"]);
  });

  it("gives the context the session's id, owner, user, required models and deadline; events carry the session id", async () => {
    const events: RunEvent[] = [];
    const { host } = hostWith(
      {
        Ctx: async (ctx, socket) => {
          ctx.emit("hello", { n: 1 });
          socket.sendJson([
            ctx.runId,
            ctx.owner,
            ctx.userId,
            ctx.requiredModels,
            ctx.timeRemainingMs() !== null,
          ]);
        },
      },
      {},
      { onEvent: (event) => events.push(event) },
    );
    const peer = new Peer();
    host.open(
      {
        sessionId: "sess-ctx",
        functionName: "ctx",
        owner: "acme",
        userId: "u1",
        timeoutMs: 60_000,
        requiredModels: ["hf:Acme/Det", "vad"],
      },
      peer,
    );
    await peer.closedWith;
    expect(JSON.parse(peer.frames[0]?.text ?? "")).toEqual([
      "sess-ctx",
      "acme",
      "u1",
      ["hf:Acme/Det", "vad"],
      true,
    ]);
    expect(events).toMatchObject([{ runId: "sess-ctx", type: "custom", name: "hello" }]);
  });

  it("refuses a session id that cannot name a folder with error:ValidationError", async () => {
    const { host, ends } = hostWith({ Echo: async () => {} });
    const peer = new Peer();
    host.open({ sessionId: "../escape", functionName: "Echo" }, peer);
    expect(await peer.closedWith).toBe("error:ValidationError");
    await settled(host);
    expect(ends[0]?.failure?.errorMessage).toContain("invalid session id");
  });
});

describe("lifetimes", () => {
  it("ends a session at timeout_ms with error:CanceledError", async () => {
    let reason = "";
    const { host } = hostWith({
      Forever: async (ctx) => {
        await new Promise<void>((done) => ctx.signal.addEventListener("abort", () => done()));
        reason = (ctx.signal.reason as Error).message;
      },
    });
    const peer = new Peer();
    host.open(request("Forever", { timeoutMs: 50 }), peer);
    expect(await peer.closedWith).toBe("error:CanceledError");
    await settled(host);
    expect(reason).toBe("the realtime session timed out after 50 ms");
  });

  it("a drain refuses new sessions with draining and cancels those still open after its timeout", async () => {
    const { host } = hostWith({
      Forever: (ctx) => new Promise((done) => ctx.signal.addEventListener("abort", () => done())),
    });
    const first = new Peer();
    host.open(request("Forever"), first);
    const draining = host.drain(100);
    const late = new Peer();
    expect(host.open(request("Forever"), late)).toEqual({ refused: "draining" });
    expect(late.closes).toEqual(["draining"]);
    await draining;
    expect(first.closes).toEqual(["error:CanceledError"]);
    expect(host.active).toBe(0);
  });

  it("refuses a second open of a session id that is open, without closing it", async () => {
    const { host } = hostWith({
      Forever: (ctx) => new Promise((done) => ctx.signal.addEventListener("abort", () => done())),
    });
    const first = new Peer();
    const second = new Peer();
    host.open({ sessionId: "same", functionName: "Forever" }, first);
    expect(host.open({ sessionId: "same", functionName: "Forever" }, second)).toEqual({
      refused: "duplicate",
    });
    expect(second.closes).toEqual([]);
    host.peerClosed("same");
    await settled(host);
  });
});

describe("FrameQueue", () => {
  it("hands frames to a waiting reader, counts bytes with their overhead, and drains to done", async () => {
    let drained = 0;
    const queue = new FrameQueue(2 * (10 + FRAME_OVERHEAD_BYTES), () => drained++);
    const waiting = queue.next();
    expect(queue.push(new Uint8Array(10))).toBe(true);
    expect((await waiting).value?.byteLength).toBe(10);
    expect(queue.bytes).toBe(0);
    expect(queue.push(new Uint8Array(10))).toBe(true);
    expect(queue.push(new Uint8Array(10))).toBe(true);
    expect(queue.push(new Uint8Array(10))).toBe(false);
    await queue.next();
    expect(drained).toBe(0);
    await queue.next();
    expect(drained).toBe(1);
    queue.end(false);
    expect((await queue.next()).done).toBe(false);
    expect((await queue.next()).done).toBe(true);
  });
});

describe("WORKER_MAX_WS_FRAME_BYTES", () => {
  it("defaults to 1 MiB and must be above 0", () => {
    expect(runtimeSettingsFromEnv({}).maxWsFrameBytes).toBe(1024 * 1024);
    expect(runtimeSettingsFromEnv({ WORKER_MAX_WS_FRAME_BYTES: "4096" }).maxWsFrameBytes).toBe(4096);
    expect(() => runtimeSettingsFromEnv({ WORKER_MAX_WS_FRAME_BYTES: "0" })).toThrow(
      'WORKER_MAX_WS_FRAME_BYTES must be a whole number of 1 or more, got "0"; leave it unset for 1048576',
    );
  });
});
