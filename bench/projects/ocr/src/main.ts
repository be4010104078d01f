import { type ActionContext, type Integer, type Model, Tensor } from "gen-worker";
import { detInput, textPixels } from "../../synthetic-input.js";

export interface DetectInput {
  /** Side of the square image. @minimum 32 @maximum 1024 */
  size: Integer;
  /** Seed of the synthetic image. */
  seed: Integer;
}

/** PaddleOCR text detection on a synthetic image: how many pixels look like text. */
export async function detect(
  _ctx: ActionContext,
  input: DetectInput,
  det: Model<"det">,
): Promise<{ text_pixels: number }> {
  const feeds = {
    x: new Tensor("float32", detInput(input.size, input.seed), [1, 3, input.size, input.size]),
  };
  const outputs = await det.session.run(feeds);
  return { text_pixels: textPixels(Object.values(outputs)[0]?.data as Float32Array) };
}
