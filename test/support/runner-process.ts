import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createParser } from "eventsource-parser";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const CLI = join(REPO_ROOT, "bin/cozy-worker.js");

export interface RunnerProcess {
  url: string;
  outputsDir: string;
  child: ChildProcess;
  /** Everything the runner printed on stderr so far. */
  stderr(): string;
  /** Sends a signal, resolves with the exit code once the runner has exited and its outputs folder is removed. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `cozy-worker run --local` on a free loopback port and waits until it serves. */
export async function startRunner(
  projectDir: string,
  env: NodeJS.ProcessEnv = {},
  extraArgs: string[] = [],
): Promise<RunnerProcess> {
  const outputsDir = await mkdtemp(join(tmpdir(), "cozy-outputs-"));
  const child = spawn(
    process.execPath,
    [CLI, "run", "--local", projectDir, "--listen", "127.0.0.1:0", "--outputs", outputsDir, ...extraArgs],
    { env: { ...process.env, ...env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`runner did not start:\n${stderr}`)), 20_000);
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /dev runner on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        done(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`runner exited with ${code} before serving:\n${stderr}`));
    });
  }).catch(async (error: unknown) => {
    child.kill("SIGKILL");
    await rm(outputsDir, { recursive: true, force: true });
    throw error;
  });
  return {
    url,
    outputsDir,
    child,
    stderr: () => stderr,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      const code = await exited;
      await rm(outputsDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Reads a server-sent event stream into `{event, data}` records, calling `onEvent` as they come. */
export async function readEventStream(
  response: Response,
  onEvent: (event: string, data: Record<string, unknown>) => void = () => {},
): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const events: { event: string; data: Record<string, unknown> }[] = [];
  const parser = createParser({
    onEvent(message) {
      const record = {
        event: message.event ?? "message",
        data: JSON.parse(message.data) as Record<string, unknown>,
      };
      events.push(record);
      onEvent(record.event, record.data);
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(chunk, { stream: true }));
  }
  return events;
}

/**
 * Removes the handler bundles a runner or worker child wrote into `<project>/.cozy/build/`
 * (`main.<pid>.<n>.mjs`): the child leaves them behind when it exits.
 */
export async function removeTenantBundles(projectDir: string, pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  const dir = join(projectDir, ".cozy", "build");
  const files = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    files
      .filter((file) => file.startsWith(`main.${pid}.`))
      .map((file) => rm(join(dir, file), { force: true })),
  );
}

/** Whether the process exited (its `stop()` resolved) within `ms`. */
export async function exitsWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  const inTime = await Promise.race([
    exited.then(() => true),
    sleep(ms, false, { signal: timer.signal }).catch(() => false),
  ]);
  timer.abort();
  return inTime;
}
