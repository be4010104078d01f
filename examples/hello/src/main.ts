import type { ActionContext, Asset } from "gen-worker";

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

export interface CardInput {
  /** Who the card is for. @minLength 1 @maxLength 40 */
  name: string;
}

/** Draw a greeting card as an SVG file and return it. */
export async function card(ctx: ActionContext, input: CardInput): Promise<{ card: Asset }> {
  const text = input.name.replace(/[<&>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="120"><rect width="100%" height="100%" fill="#fdf6e3"/><text x="24" y="68" font-size="28" font-family="sans-serif">Hello, ${text}!</text></svg>\n`;
  ctx.progress(0.5, "drawing");
  const file = await ctx.saveBytes("card.svg", new TextEncoder().encode(svg));
  return { card: file };
}
