import { type ActionContext, type Integer, type Model, Tensor } from "gen-worker";
import { lineImage } from "./input.js";

export interface ClassifyInput {
  /** Seeds the deterministic 48×192 text-line image. */
  seed: Integer;
}

export interface ClassifyOutput {
  /** The two orientation scores (0° and 180°). */
  scores: number[];
}

/** PaddleOCR's text-direction classifier on one synthetic line image; cozy.toml batches its calls. */
export async function classify(
  _ctx: ActionContext,
  input: ClassifyInput,
  cls: Model<"cls">,
): Promise<ClassifyOutput> {
  const x = new Tensor("float32", lineImage(input.seed), [1, 3, 48, 192]);
  const out = await cls.session.run({ x });
  return { scores: Array.from(Object.values(out)[0]?.data as Float32Array) };
}

export interface MlpInput {
  x: number[];
}

/** The tiny MLP (its key sets CUDA options, which a CPU session ignores). */
export async function mlp(
  _ctx: ActionContext,
  input: MlpInput,
  tiny: Model<"tiny">,
): Promise<{ y: number[] }> {
  const out = await tiny.session.run({
    X: new Tensor("float32", Float32Array.from(input.x), [input.x.length / 4, 4]),
  });
  return { y: Array.from(out.Y?.data as Float32Array) };
}
