import type { ActionContext } from "gen-worker";

export interface HelloInput {
  /** Who to greet. @minLength 1 @maxLength 100 */
  name: string;
  /** How many times to say it. @integer @minimum 1 @maximum 5 @default 1 */
  times?: number;
}

export interface HelloOutput {
  greeting: string;
}

/** Greet someone. */
export async function hello(ctx: ActionContext, input: HelloInput): Promise<HelloOutput> {
  ctx.log(`greeting ${input.name}`);
  const greeting = Array.from({ length: input.times ?? 1 }, () => `Hello, ${input.name}!`).join(" ");
  return { greeting };
}

/** Stream a sentence back one word at a time. */
export async function* words(ctx: ActionContext, input: { text: string }): AsyncGenerator<{ delta: string }> {
  const parts = input.text.split(/\s+/).filter(Boolean);
  for (const [index, word] of parts.entries()) {
    ctx.throwIfCanceled();
    ctx.progress((index + 1) / parts.length);
    yield { delta: word };
  }
}
