import { type ActionContext, ValidationError } from "gen-worker";

export interface ShoutInput {
  /** What to shout. The schema allows the empty string; the handler forgets it. */
  text: string;
  /** How many times. @integer @minimum 1 @maximum 3 @default 1 */
  times?: number;
}

/** Shouts the text back, capitalized. The planted bug: `""` has no first letter. */
export async function shout(_ctx: ActionContext, input: ShoutInput): Promise<{ text: string }> {
  const first = (input.text[0] as string).toUpperCase();
  return { text: `${first}${input.text.slice(1)}!`.repeat(input.times ?? 1) };
}

/** Refuses a blank word on purpose: a ValidationError is the client's problem, not a bug. */
export async function count(_ctx: ActionContext, input: { word: string }): Promise<{ letters: number }> {
  if (input.word.trim() === "") throw new ValidationError("the word is blank: send some letters");
  return { letters: [...input.word].length };
}
