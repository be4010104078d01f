import { type ActionContext, type Integer, type Model, type PayloadModel, Tensor } from "gen-worker";

export interface MlpInput {
  /** Rows of 4 features, flattened. */
  x: number[];
}

export interface MlpOutput {
  y: number[];
  key: string;
  ref: string;
}

/** The tiny MLP: Y[N,3] = Relu(X[N,4]·W + B). */
export async function mlp(_ctx: ActionContext, input: MlpInput, model: Model<"tiny">): Promise<MlpOutput> {
  return { y: await runMlp(model, input.x), key: model.key, ref: model.ref };
}

export interface PickInput {
  /** A key of [models]: tiny, tiny-b or tiny-c. */
  model: string;
  x: number[];
}

/** The same MLP from whichever tiny repo the payload names. */
export async function pick(
  _ctx: ActionContext,
  input: PickInput,
  model: PayloadModel<"model">,
): Promise<MlpOutput> {
  return { y: await runMlp(model, input.x), key: model.key, ref: model.ref };
}

export interface HoldInput {
  x: number[];
  /** How long to keep the model in use after running it. */
  ms: Integer;
}

/** Runs the MLP, then keeps the model pinned for a while (tests of unload and eviction). */
export async function hold(ctx: ActionContext, input: HoldInput, model: Model<"tiny">): Promise<MlpOutput> {
  const y = await runMlp(model, input.x);
  await new Promise<void>((done) => {
    const timer = setTimeout(done, input.ms);
    ctx.signal.addEventListener("abort", () => {
      clearTimeout(timer);
      done();
    });
  });
  return { y, key: model.key, ref: model.ref };
}

export interface DetectInput {
  /** A [1,3,h,w] image, flattened. */
  image: number[];
  h: Integer;
  w: Integer;
}

export interface DetectOutput {
  /** The [1,1,h,w] text probability map, flattened. */
  map: number[];
  dims: number[];
}

/** PaddleOCR v4 text detection. */
export async function detect(
  _ctx: ActionContext,
  input: DetectInput,
  det: Model<"det">,
): Promise<DetectOutput> {
  const x = new Tensor("float32", Float32Array.from(input.image), [1, 3, input.h, input.w]);
  const out = await det.session.run({ x });
  const map = Object.values(out)[0] as Tensor;
  return { map: Array.from(map.data as Float32Array), dims: [...map.dims] };
}

export interface VadInput {
  /** 16 kHz samples. */
  audio: number[];
}

export interface VadOutput {
  probability: number[];
  hn: number[];
  cn: number[];
}

/** Silero VAD (legacy graph) over one window, from a zero state. */
export async function vad(_ctx: ActionContext, input: VadInput, vad: Model<"vad">): Promise<VadOutput> {
  const session = vad.sessions.model;
  if (session === undefined) throw new Error(`no graph named model: ${Object.keys(vad.sessions).join(", ")}`);
  const out = await session.run({
    input: new Tensor("float32", Float32Array.from(input.audio), [1, input.audio.length]),
    sr: new Tensor("int64", BigInt64Array.from([16000n]), []),
    h: new Tensor("float32", new Float32Array(128), [2, 1, 64]),
    c: new Tensor("float32", new Float32Array(128), [2, 1, 64]),
  });
  const values = (name: string) => Array.from((out[name] as Tensor).data as Float32Array);
  return { probability: values("output"), hn: values("hn"), cn: values("cn") };
}

async function runMlp(model: Model, x: number[]): Promise<number[]> {
  const out = await model.session.run({ X: new Tensor("float32", Float32Array.from(x), [x.length / 4, 4]) });
  return Array.from((out.Y as Tensor).data as Float32Array);
}
