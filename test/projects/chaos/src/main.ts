import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ActionContext } from "gen-worker";

/**
 * Records that this run id executed, then sleeps `ms`. The record is `<CHAOS_RECORD_DIR>/<run_id>`,
 * created exclusively: a second execution of the same run id cannot create it again and leaves
 * `<run_id>.duplicate-<time>-<pid>` instead, so the test sees every repeat.
 */
export async function sleep_and_record(
  ctx: ActionContext,
  input: { ms: number },
): Promise<{ run_id: string }> {
  record(ctx.runId);
  await sleep(input.ms);
  return { run_id: ctx.runId };
}

/** Records that this run id executed, then streams `{ n }` for n = 0…to−1, one every `ms`. */
export async function* count_and_record(
  ctx: ActionContext,
  input: { to: number; ms: number },
): AsyncGenerator<{ n: number }> {
  record(ctx.runId);
  for (let n = 0; n < input.to; n++) {
    await sleep(input.ms);
    yield { n };
  }
}

function record(runId: string): void {
  const dir = process.env.CHAOS_RECORD_DIR;
  if (!dir) throw new Error("CHAOS_RECORD_DIR is not set");
  try {
    writeFileSync(join(dir, runId), `${Date.now()}\n`, { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    writeFileSync(join(dir, `${runId}.duplicate-${Date.now()}-${process.pid}`), "", { flag: "wx" });
  }
}
