/**
 * `cozy-worker test` runs the fuzzer in a child process and watches it: a handler that blocks the
 * event loop (a synchronous endless loop) can be timed out by nothing inside that process, as in
 * production. The child writes a heartbeat and each payload before it runs to a pipe; when the
 * heartbeat stops during a run for longer than the run's timeout allows, the supervisor stops the
 * child, prints the payload that blocked it and exits 1.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { environmentWithTempDir } from "../settings/child-environment.js";

const BEAT_MS = 250;
/** How long past the run's timeout a silent child is given before it counts as blocked. */
const SLACK_MS = 3000;

/** What the child sends: a heartbeat, a run starting, a run ended. */
type Message =
  | { beat: true }
  | { endpoint: string; payload: unknown; files: Record<string, string> }
  | { done: true };

export interface Supervised {
  /** The arguments after `node`: the CLI's own, with `--seed` and `--watchdog-fd` added. */
  args: string[];
  timeoutMs: number;
  /** The command that fuzzes one endpoint again. */
  reproduce(endpoint: string): string;
  print(line: string): void;
}

/** Runs the child to its end; resolves to the exit code. */
export function superviseFuzz(options: Supervised): Promise<number> {
  // The child's temporary folders go in one of ours, removed at the end: a child killed for blocking
  // its event loop has no chance to remove its own.
  const tempDir = mkdtempSync(join(tmpdir(), "cozy-fuzz-"));
  const child = spawn(process.execPath, [...process.execArgv, ...options.args], {
    stdio: ["inherit", "inherit", "inherit", "pipe"],
    env: environmentWithTempDir(tempDir),
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  let lastSign = Date.now();
  let running: Extract<Message, { endpoint: string }> | undefined;
  let blocked = false;
  const lines = createInterface({ input: child.stdio[3] as Readable });
  lines.on("line", (line) => {
    lastSign = Date.now();
    const message = parse(line);
    if (message && "endpoint" in message) running = message;
    else if (message && "done" in message) running = undefined;
  });
  const watch = setInterval(() => {
    const silence = Date.now() - lastSign;
    if (!running || silence <= options.timeoutMs + SLACK_MS || blocked) return;
    blocked = true;
    child.kill("SIGKILL");
    for (const line of blockedReport(running, silence, options)) options.print(line);
  }, BEAT_MS);
  return new Promise((done) => {
    child.once("exit", (code) => {
      clearInterval(watch);
      rmSync(tempDir, { recursive: true, force: true });
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      done(blocked ? 1 : (code ?? 1));
    });
  });
}

/** In the child: the heartbeat, and a function that announces each run, through `fd`. */
export function reportToSupervisor(
  fd: number,
): (attempt: { endpoint: string; payload: unknown; files: Record<string, Uint8Array> } | undefined) => void {
  const send = (message: Message) => {
    try {
      writeSync(fd, `${JSON.stringify(message)}\n`);
    } catch {
      // The supervisor is gone: nothing to tell.
    }
  };
  setInterval(() => send({ beat: true }), BEAT_MS).unref();
  return (attempt) => {
    if (!attempt) return send({ done: true });
    const files = Object.fromEntries(
      Object.entries(attempt.files).map(([ref, bytes]) => [ref, Buffer.from(bytes).toString("hex")]),
    );
    send({ endpoint: attempt.endpoint, payload: attempt.payload, files });
  };
}

function blockedReport(
  run: Extract<Message, { endpoint: string }>,
  silence: number,
  options: Supervised,
): string[] {
  const files = Object.entries(run.files).map(([ref, hex]) => {
    const size = hex.length / 2;
    const shown = hex.slice(0, 64).replace(/(..)(?!$)/g, "$1 ");
    return `        file:    ${ref} (${size} byte${size === 1 ? "" : "s"}${size > 0 ? `: ${shown}${size > 32 ? " ..." : ""}` : ""})`;
  });
  return [
    `  FAIL  ${run.endpoint}: blocked the event loop (no sign of life for ${Math.round(silence / 1000)} s during a run with a ${options.timeoutMs} ms timeout); the fuzzer was stopped, so the payload is not shrunk`,
    `        payload: ${JSON.stringify(run.payload)}`,
    ...files,
    `        again:   ${options.reproduce(run.endpoint)}`,
    `the fuzzer was stopped at ${run.endpoint}: endpoints after it were not fuzzed`,
  ];
}

function parse(line: string): Message | undefined {
  try {
    return JSON.parse(line) as Message;
  } catch {
    return undefined;
  }
}
