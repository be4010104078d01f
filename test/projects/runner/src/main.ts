import { setTimeout as sleep } from "node:timers/promises";
import type { ActionContext, Asset, Integer } from "gen-worker";
import {
  AuthError,
  CanceledError,
  FatalError,
  ResourceError,
  RetryableError,
  ValidationError,
} from "gen-worker";

export interface EchoInput {
  text: string;
  /** @minimum 0 @maximum 10 @default 1 */
  times?: Integer;
  tags?: string[];
  mode?: "plain" | "loud";
}

export interface EchoOutput {
  text: string;
  times: number;
}

/** Echo the text back. */
export async function echo(ctx: ActionContext, input: EchoInput): Promise<EchoOutput> {
  ctx.log("echoing");
  const text = input.mode === "loud" ? input.text.toUpperCase() : input.text;
  // No fallback: the schema's @default fills `times` in before the handler runs (tests rely on it).
  const times = input.times as number;
  return { text: Array.from({ length: times }, () => text).join(" "), times };
}

export function echo_sync(_ctx: ActionContext, input: { text: string }): { text: string } {
  return { text: input.text };
}

/** Waits until canceled, then reports when it saw the abort. */
export async function wait_for_cancel(
  ctx: ActionContext,
  input: { ms: number },
): Promise<{ waited: boolean }> {
  await sleep(input.ms, undefined, { signal: ctx.signal });
  return { waited: true };
}

export async function hang(_ctx: ActionContext, _input: { note?: string }): Promise<{ never: boolean }> {
  return new Promise(() => {});
}

export async function sleep_ms(_ctx: ActionContext, input: { ms: number }): Promise<{ slept: number }> {
  await sleep(input.ms);
  return { slept: input.ms };
}

/** @maxConcurrency 1 */
export async function single_slot(_ctx: ActionContext, input: { ms: number }): Promise<{ done: boolean }> {
  await sleep(input.ms);
  return { done: true };
}

export async function fail_with(_ctx: ActionContext, input: { kind: string }): Promise<{ ok: boolean }> {
  switch (input.kind) {
    case "validation":
      throw new ValidationError("prompt is too long for model hf:acme/det");
    case "auth":
      throw new AuthError("token expired: Bearer abc.def.ghi");
    case "retryable":
      throw new RetryableError("upstream busy at https://internal.example/api?token=s3cret");
    case "fatal":
      throw new FatalError("cannot run on this worker");
    case "resource":
      throw new ResourceError("no space left in /var/cache/models");
    case "canceled":
      throw new CanceledError();
    case "canceled-with-reason":
      throw new CanceledError("the user left the page at /srv/app");
    case "type":
      throw new TypeError("cannot read properties of undefined (reading 'x') at /srv/app/src/main.ts");
    case "string":
      throw "a bare string";
    default:
      return { ok: true };
  }
}

export function throw_sync(_ctx: ActionContext, _input: { note?: string }): { ok: boolean } {
  throw new Error("sync boom");
}

export async function wrong_shape(
  _ctx: ActionContext,
  _input: { note?: string },
): Promise<{ count: number }> {
  return { count: "three" } as unknown as { count: number };
}

export async function stray_rejection(
  _ctx: ActionContext,
  _input: { note?: string },
): Promise<{ ok: boolean }> {
  Promise.reject(new Error("nobody awaits this"));
  setTimeout(() => {
    throw new Error("thrown from a timer");
  }, 1);
  return { ok: true };
}

export interface TokenDelta {
  delta: string;
}

/** Stream the words, one per `gap_ms`. */
export async function* words(
  ctx: ActionContext,
  input: { text: string; gap_ms?: number },
): AsyncGenerator<TokenDelta> {
  const parts = input.text.split(" ");
  for (const [index, word] of parts.entries()) {
    ctx.throwIfCanceled();
    ctx.progress((index + 1) / parts.length, "speaking");
    if (input.gap_ms) await sleep(input.gap_ms, undefined, { signal: ctx.signal });
    yield { delta: word };
  }
}

/** Streams `after` words, then fails as a bug in the handler would. */
export async function* broken_stream(
  _ctx: ActionContext,
  input: { after: number },
): AsyncGenerator<TokenDelta> {
  for (let index = 0; index < input.after; index++) yield { delta: `w${index}` };
  throw new Error("stream broke at /srv/app/src/main.ts");
}

export function* count_sync(_ctx: ActionContext, input: { to: number }): Generator<{ n: number }> {
  for (let n = 1; n <= input.to; n++) yield { n };
}

/** Streams until canceled; records in its finally block when it stopped. */
export async function* endless(
  ctx: ActionContext,
  _input: { note?: string },
): AsyncGenerator<{ tick: number }> {
  let tick = 0;
  try {
    while (true) {
      await sleep(20, undefined, { signal: ctx.signal });
      yield { tick: tick++ };
    }
  } finally {
    ctx.emit("custom.stopped", { after_ticks: tick, at: Date.now() });
  }
}

export async function save_text(
  ctx: ActionContext,
  input: { ref: string; text: string },
): Promise<{ file: Asset }> {
  const file = await ctx.saveBytes(input.ref, new TextEncoder().encode(input.text));
  return { file };
}

export async function save_twice(ctx: ActionContext, input: { ref: string }): Promise<{ file: Asset }> {
  await ctx.saveBytesCreate(input.ref, new TextEncoder().encode("one"));
  const file = await ctx.saveBytesCreate(input.ref, new TextEncoder().encode("two"));
  return { file };
}

export async function read_asset(
  _ctx: ActionContext,
  input: { image: Asset },
): Promise<{ size: number; sha256: string | null; mime: string | null }> {
  const bytes = await input.image.readBytes();
  return { size: bytes.byteLength, sha256: input.image.sha256 ?? null, mime: input.image.mimeType ?? null };
}
