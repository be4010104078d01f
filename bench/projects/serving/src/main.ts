import { type ActionContext, type Integer, type Model, Tensor } from "gen-worker";
import { detInput, lineImage, textPixels } from "../../synthetic-input.js";

export interface ClassifyInput {
  /** Seed of the synthetic 48×192 text line. */
  seed: Integer;
}

export interface ClassifyOutput {
  /** 0 when the line reads upright, 1 when it is upside down. */
  label: Integer;
  score: number;
}

async function classifyWith(model: Model, seed: number): Promise<ClassifyOutput> {
  const x = new Tensor("float32", lineImage(seed), [1, 3, 48, 192]);
  const scores = Object.values(await model.session.run({ x }))[0]?.data as Float32Array;
  const label = (scores[1] as number) > (scores[0] as number) ? 1 : 0;
  return { label, score: scores[label] as number };
}

/** PaddleOCR's text-direction classifier; cozy.toml batches its calls (max 32 rows, 2 ms wait). */
export async function classify(
  _ctx: ActionContext,
  input: ClassifyInput,
  cls: Model<"cls">,
): Promise<ClassifyOutput> {
  return classifyWith(cls, input.seed);
}

/** The same work on a key without `batch`: every call runs alone. */
export async function classifyPlain(
  _ctx: ActionContext,
  input: ClassifyInput,
  cls: Model<"cls-plain">,
): Promise<ClassifyOutput> {
  return classifyWith(cls, input.seed);
}

export interface DetectInput {
  /** Side of the square image. @minimum 32 @maximum 1024 */
  size: Integer;
  seed: Integer;
}

/** PaddleOCR text detection on a synthetic image: how many pixels look like text. */
export async function detect(
  _ctx: ActionContext,
  input: DetectInput,
  det: Model<"det">,
): Promise<{ text_pixels: Integer }> {
  const x = new Tensor("float32", detInput(input.size, input.seed), [1, 3, input.size, input.size]);
  return { text_pixels: textPixels(Object.values(await det.session.run({ x }))[0]?.data as Float32Array) };
}
