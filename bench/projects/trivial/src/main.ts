import { setTimeout as sleep } from "node:timers/promises";
import type { ActionContext } from "gen-worker";

/** Returns at once: measures the runner's own cost. */
export async function ping(_ctx: ActionContext, input: { n: number }): Promise<{ pong: number }> {
  return { pong: input.n };
}

/** Awaits 100 ms: measures how well runs overlap. */
export async function wait100(_ctx: ActionContext, input: { n: number }): Promise<{ pong: number }> {
  await sleep(100);
  return { pong: input.n };
}
