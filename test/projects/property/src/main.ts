import type { ActionContext, Integer } from "gen-worker";

export interface Region {
  x: number;
  y: number;
  /** @exclusiveMinimum 0 */
  w: number;
  /** @exclusiveMinimum 0 */
  h: number;
}

export interface DetectInput {
  /** @minLength 1 @maxLength 64 */
  image_ref: string;
  /** @minimum 0 @maximum 1 @default 0.3 */
  threshold?: number;
  regions?: Region[];
  mode: "fast" | "accurate";
  labels?: Record<string, Integer>;
}

export async function detect(_ctx: ActionContext, input: DetectInput): Promise<{ count: number }> {
  return { count: (input.regions ?? []).length };
}

export interface GenerateInput {
  prompt: string;
  /** @integer @minimum 1 @maximum 50 */
  steps: number;
  seed?: Integer | null;
  size?: [Integer, Integer];
  flags?: { upscale: boolean; tile?: boolean };
}

export async function* generate(_ctx: ActionContext, input: GenerateInput): AsyncGenerator<{ step: number }> {
  for (let step = 1; step <= Math.min(input.steps, 3); step++) yield { step };
}

export function tag(_ctx: ActionContext, input: { tags: string[]; weight?: number }): { n: number } {
  return { n: input.tags.length };
}
