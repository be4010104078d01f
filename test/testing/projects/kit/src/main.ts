import { type ActionContext, type Asset, type Model, Tensor, ValidationError } from "gen-worker";

export interface GreetInput {
  /** Who to greet. @minLength 1 */
  name: string;
  /** @integer @minimum 1 @maximum 3 @default 2 */
  times?: number;
  /** @default "Hello" */
  greeting?: string;
}

/** Greets; reports progress, a log line and a custom event. */
export async function greet(ctx: ActionContext, input: GreetInput): Promise<{ text: string; times: number }> {
  ctx.progress(0.5, "greeting");
  ctx.log(`greeting ${input.name}`, "info");
  ctx.emit("greeted", { name: input.name });
  const times = input.times ?? 1;
  return { text: Array.from({ length: times }, () => `${input.greeting}, ${input.name}!`).join(" "), times };
}

/** Streams the numbers from 1 up to `to`. */
export async function* count(
  ctx: ActionContext,
  input: { /** @integer @minimum 0 @maximum 10 */ to: number },
): AsyncGenerator<{ n: number }> {
  for (let n = 1; n <= input.to; n++) {
    ctx.progress(n / input.to);
    yield { n };
  }
}

/** Saves the text (and the size of an optional input file) as an output file. */
export async function render(
  ctx: ActionContext,
  input: { text: string; source?: Asset },
): Promise<{ file: Asset; sourceText: string }> {
  const source = input.source ? new TextDecoder().decode(await input.source.readBytes()) : "";
  const file = await ctx.saveBytes("out/text.txt", new TextEncoder().encode(`${input.text}|${source}`));
  return { file, sourceText: source };
}

/** Breaks its own output type on purpose. */
export async function broken(
  _ctx: ActionContext,
  input: { mode: "number" | "missing" },
): Promise<{ value: string }> {
  if (input.mode === "number") return { value: 42 as unknown as string };
  return {} as { value: string };
}

/** Throws: a ValidationError on purpose for "bad", a plain error (a bug) for "bug". */
export async function fail(_ctx: ActionContext, input: { how: "bad" | "bug" }): Promise<{ ok: boolean }> {
  if (input.how === "bad") throw new ValidationError("bad input: send something else");
  throw new RangeError("the handler has a bug");
}

/** Waits `ms`, ending early when the run is canceled unless told to ignore the signal. */
export async function wait(
  ctx: ActionContext,
  input: { /** @integer @minimum 0 */ ms: number; ignoreSignal?: boolean },
): Promise<{ waited: number }> {
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(done, input.ms);
    if (input.ignoreSignal) return;
    ctx.signal.addEventListener("abort", () => {
      clearTimeout(timer);
      fail(ctx.signal.reason);
    });
  });
  return { waited: input.ms };
}

/** Doubles numbers with an injected model (a fake in the tests). */
export async function double(
  _ctx: ActionContext,
  input: { values: number[] },
  model: Model<"doubler">,
): Promise<{ values: number[]; ref: string }> {
  const x = new Tensor("float32", Float32Array.from(input.values), [input.values.length]);
  const out = await model.session.run({ x });
  return { values: Array.from((out.y as Tensor).data as Float32Array), ref: model.ref };
}

/** The speech probability of 32 ms of silence, from Silero VAD (a real ONNX model). */
export async function silence(
  _ctx: ActionContext,
  _input: Record<string, never>,
  vad: Model<"vad">,
): Promise<{ probability: number; inputs: string[] }> {
  const session = vad.session;
  const v5 = session.inputNames.includes("state");
  const zeros = (dims: number[]) =>
    new Tensor("float32", new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  const state: Record<string, Tensor> = v5
    ? { state: zeros([2, 1, 128]) }
    : { h: zeros([2, 1, 64]), c: zeros([2, 1, 64]) };
  const sr = new Tensor("int64", BigInt64Array.from([16000n]), []);
  const out = await session.run({ input: zeros([1, 512]), sr, ...state });
  return { probability: Number((out.output as Tensor).data[0]), inputs: [...session.inputNames] };
}
