/**
 * Handlers of every shape the typed client must read, for the type tests (never run): injected
 * models, files, a string enum, `Integer`, an arrow handler, sync streams, and exports that are
 * no handlers.
 */
import type { ActionContext, Asset, Integer, Model, PayloadModel } from "gen-worker";

export enum Size {
  Small = "small",
  Large = "large",
}

export interface DetectInput {
  image: Asset;
  size?: Size;
  count: Integer;
  /** Picks the model: a key of the endpoint's keyspace. */
  model: string;
}

export interface DetectOutput {
  boxes: { x: number; y: number }[];
  mask: Asset | null;
}

export async function detect(
  _ctx: ActionContext,
  input: DetectInput,
  _det: Model<"det">,
  _picked: PayloadModel<"model">,
): Promise<DetectOutput> {
  return { boxes: [{ x: input.count, y: 0 }], mask: null };
}

export const label = async (_ctx: ActionContext, input: { text: string }): Promise<string> => input.text;

export function listWords(_ctx: ActionContext, input: { text: string }): string[] {
  return input.text.split(" ");
}

export function* count(_ctx: ActionContext, input: { to: Integer }): Generator<{ n: number }> {
  for (let n = 1; n <= input.to; n++) yield { n };
}

export async function* letters(_ctx: ActionContext, input: { text: string }): AsyncIterable<string> {
  yield* input.text;
}

export function byteLength(bytes: Uint8Array): number {
  return bytes.byteLength;
}

export const VERSION = "1.0.0";
