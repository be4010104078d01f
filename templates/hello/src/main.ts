import type { ActionContext } from "gen-worker";

export interface GreetInput {
  /** Who to greet. @minLength 1 @maxLength 100 */
  name: string;
  /** How many times to say it. @integer @minimum 1 @maximum 5 @default 1 */
  times?: number;
}

export interface GreetOutput {
  greeting: string;
}

/** Greet someone. */
export async function greet(ctx: ActionContext, input: GreetInput): Promise<GreetOutput> {
  ctx.log(`greeting ${input.name}`);
  const greeting = Array.from({ length: input.times ?? 1 }, () => `Hello, ${input.name}!`).join(" ");
  return { greeting };
}

export interface EchoInput {
  /** The sentence to send back word by word. @minLength 1 @maxLength 1000 */
  text: string;
}

/** Stream a sentence back one word at a time. */
export async function* echo(ctx: ActionContext, input: EchoInput): AsyncGenerator<{ delta: string }> {
  const words = input.text.split(/\s+/).filter(Boolean);
  for (const [index, word] of words.entries()) {
    ctx.throwIfCanceled();
    ctx.progress((index + 1) / words.length);
    yield { delta: word };
  }
}
