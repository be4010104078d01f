// One endpoint per kind of finding the fuzzer reports; each bug hides behind an input the schema allows.
import type { ActionContext, Asset } from "gen-worker";

/** Returns a number where its type says string, for n above 1000. */
export async function label(
  _ctx: ActionContext,
  input: { /** @integer */ n: number },
): Promise<{ label: string }> {
  return { label: input.n > 1000 ? (input.n as unknown as string) : String(input.n) };
}

/** Never answers for three items or more. */
export async function hang(_ctx: ActionContext, input: { items: string[] }): Promise<{ count: number }> {
  if (input.items.length >= 3) await new Promise(() => {});
  return { count: input.items.length };
}

/** Throws from a timer, outside the run, when asked to "tick". */
export async function crash(_ctx: ActionContext, input: { tick: boolean }): Promise<{ ok: boolean }> {
  if (input.tick) {
    setTimeout(() => {
      throw new Error("boom from a timer");
    }, 0);
  }
  return { ok: true };
}

/** Streams the words; a word longer than five characters breaks it. */
export async function* words(_ctx: ActionContext, input: { text: string }): AsyncGenerator<{ word: string }> {
  for (const word of input.text.split(" ")) {
    if (word.length > 5) throw new RangeError(`word too long: ${word}`);
    yield { word };
  }
}

/** Reads the first byte of a file; an empty file has none. */
export async function firstByte(_ctx: ActionContext, input: { file: Asset }): Promise<{ first: number }> {
  const bytes = await input.file.readBytes();
  return { first: (bytes[0] as number).valueOf() };
}

export interface Tree {
  value: string;
  children?: Tree[];
}

/** Counts the nodes of a tree; gives up, by mistake, three levels down. */
export async function depth(
  _ctx: ActionContext,
  input: { tree: Tree; mode?: "sum" | "max" | null },
): Promise<{ depth: number }> {
  const walk = (tree: Tree, level: number): number => {
    if (level > 2) throw new Error(`too deep at ${tree.value}`);
    return 1 + Math.max(0, ...(tree.children ?? []).map((child) => walk(child, level + 1)));
  };
  return { depth: walk(input.tree, 0) };
}

/** Blocks the event loop (a synchronous endless loop) for n above 100. */
export async function spin(
  _ctx: ActionContext,
  input: { /** @integer */ n: number },
): Promise<{ n: number }> {
  let spins = 0;
  while (input.n > 100) spins++;
  return { n: input.n + spins };
}
