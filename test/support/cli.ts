import { execa } from "execa";
import { CLI } from "./runner-process.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** This process's environment with `env` laid over it and NO_COLOR set; a variable set to undefined in `env` is removed. */
export function cliEnvironment(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...env };
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
  return merged;
}

/**
 * Runs the built CLI (bin/cozy-worker.js → dist/) to its end and never rejects: the exit code
 * (-1 when it was killed), stdout and stderr, with the environment of {@link cliEnvironment}.
 */
export async function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: { cwd?: string; timeout?: number } = {},
): Promise<CliResult> {
  const result = await execa(process.execPath, [CLI, ...args], {
    env: cliEnvironment(env),
    extendEnv: false,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    timeout: options.timeout ?? 180_000,
    maxBuffer: 16 * 1024 * 1024,
    stdin: "ignore",
    stripFinalNewline: false,
    reject: false,
  });
  return { code: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}
