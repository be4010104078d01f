import type { ActionContext, RealtimeSocket } from "gen-worker";

const text = new TextDecoder();

/** Sends every frame back as it came, bytes for bytes (a binary frame). */
export async function echoBytes(_ctx: ActionContext, socket: RealtimeSocket): Promise<void> {
  for await (const frame of socket) socket.send(frame);
}

/** Sends every frame back as text, upper-cased; a frame "bye" closes the session. */
export async function shout(_ctx: ActionContext, socket: RealtimeSocket): Promise<void> {
  for await (const frame of socket) {
    const line = text.decode(frame);
    if (line === "bye") {
      socket.close();
      socket.send("never sent: the session is closed");
      return;
    }
    socket.send(line.toUpperCase());
  }
}

/** Greets, answers the first frame with its size as JSON, and ends the session by returning. */
export async function greet(ctx: ActionContext, socket: RealtimeSocket): Promise<void> {
  socket.send(`hello ${ctx.runId}`);
  for await (const frame of socket) {
    socket.sendJson({ bytes: frame.byteLength, text: text.decode(frame) });
    return;
  }
}

class StreamBroke extends Error {}

/** Throws after the first frame: the session closes with error:StreamBroke. */
export async function explode(_ctx: ActionContext, socket: RealtimeSocket): Promise<void> {
  for await (const frame of socket) throw new StreamBroke(`cannot handle ${frame.byteLength} bytes`);
}

/**
 * Reads until the session ends; when the peer closes it, `ctx.signal` aborts: the handler reports that
 * with an event and a file.
 */
export async function watch(ctx: ActionContext, socket: RealtimeSocket): Promise<void> {
  ctx.signal.addEventListener("abort", () => {
    ctx.emit("session.aborted", { reason: String((ctx.signal.reason as Error).message) });
  });
  let frames = 0;
  for await (const _frame of socket) frames++;
  ctx.emit("session.iteration_ended", { frames, aborted: ctx.signal.aborted });
  await ctx.saveBytes(
    "ended.json",
    new TextEncoder().encode(JSON.stringify({ frames, aborted: ctx.signal.aborted })),
  );
}

/** Reads nothing until the session ends (tests of the inbound queue). */
export async function stall(ctx: ActionContext, _socket: RealtimeSocket): Promise<void> {
  await new Promise<void>((done) => ctx.signal.addEventListener("abort", () => done()));
}

/** Waits a moment, then counts frames until one reads "end", and sends the count (flow control). */
export async function slowCount(_ctx: ActionContext, socket: RealtimeSocket): Promise<void> {
  await new Promise((done) => setTimeout(done, 300));
  let count = 0;
  let order = true;
  for await (const frame of socket) {
    const line = text.decode(frame);
    if (line === "end") break;
    if (!line.startsWith(`${count}:`)) order = false;
    count++;
  }
  socket.sendJson({ count, order });
}

/** Sends its context as JSON and ends. */
export async function context(ctx: ActionContext, socket: RealtimeSocket): Promise<void> {
  socket.sendJson({
    runId: ctx.runId,
    owner: ctx.owner,
    userId: ctx.userId,
    requiredModels: ctx.requiredModels,
    hasDeadline: ctx.deadline !== null,
  });
}

/** Sends one frame of `n` bytes for each frame it receives, whose text is `n`. */
export async function sized(_ctx: ActionContext, socket: RealtimeSocket): Promise<void> {
  for await (const frame of socket) {
    try {
      socket.send(new Uint8Array(Number(text.decode(frame))));
    } catch (error) {
      socket.sendJson({ refused: (error as Error).name });
    }
  }
}

/** A task handler beside the realtime ones. */
export async function add(_ctx: ActionContext, input: { a: number; b: number }): Promise<{ sum: number }> {
  return { sum: input.a + input.b };
}
