import { type ChildProcess, spawn } from "node:child_process";
import { CLI } from "./runner-process.js";

export interface Invocation {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  /** Resolves with the scheduler address once it listens. */
  listening: Promise<string>;
}

/**
 * `cozy-worker invoke <args>`, the process a developer runs, where `args` ask for a scheduler of its
 * own (`--scheduler --listen ...`); `stdin` "pipe" leaves its standard input to the caller.
 */
export function startInvoke(args: string[], stdin: "pipe" | "ignore" = "ignore"): Invocation {
  const child = spawn(process.execPath, [CLI, "invoke", ...args], {
    env: { ...process.env, NO_COLOR: "1" },
    stdio: [stdin, "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const listening = new Promise<string>((resolve) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /\[listening\] scheduler=(\S+);/.exec(stderr);
      if (match?.[1]) resolve(match[1]);
    });
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited, listening };
}
