import type { ActionContext, Asset, Integer } from "gen-worker";

/** Named types reach the input schema as `$ref`s into `$defs`. */
export enum Quality {
  Low = 1,
  High = 2,
}
/** A `$ref` whose target holds another `$ref` (to Quality). */
export type MaybeQuality = Quality | null;
export type Threshold = number | null;
export type Mode = "plain" | "loud";

export interface TypedInput {
  text: string;
  count?: Integer;
  ratio?: number;
  loud?: boolean;
  threshold?: Threshold;
  quality?: MaybeQuality;
  note?: string | null;
  label?: string | number;
  mode?: Mode;
  tags?: string[];
  image?: Asset;
}

/** Returns the payload it received, as JSON text. */
export async function typed(_ctx: ActionContext, input: TypedInput): Promise<{ json: string }> {
  return { json: JSON.stringify(input) };
}
