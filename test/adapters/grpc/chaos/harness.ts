import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ChaosProxy } from "./proxy.js";
import { type HeaderMode, type PlannedRun, SchedulerProcess } from "./scheduler-process.js";

const REPO_ROOT = resolve(import.meta.dirname, "../../../..");
const CLI = join(REPO_ROOT, "bin/cozy-worker.js");
export const CHAOS_PROJECT = join(REPO_ROOT, "test/projects/chaos");
export const HANDLER = "sleep_and_record";

/** The worker's timing settings, in seconds, shared by every chaos test. */
export const TIMING = {
  reconnectDelay: 0.2,
  reconnectMaxDelay: 1,
  reconnectJitter: 0.1,
  keepaliveTime: 1,
  keepaliveTimeout: 1,
  connectTimeout: 1,
};

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Things to undo after each test, last in first out. */
const cleanups: (() => unknown)[] = [];

export async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // Best effort: the next cleanup must still run.
    }
  }
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cozy-chaos-${prefix}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface WorkerProcess {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
  /** The exit code once exited, undefined while running. */
  exitCode(): number | null | undefined;
}

/** `cozy-worker serve` of the chaos project, recording its executions in `recordDir`. */
export function startWorker(
  scheduler: string,
  recordDir: string,
  env: NodeJS.ProcessEnv = {},
): WorkerProcess {
  const runDir = tempDir("run");
  const child = spawn(process.execPath, [CLI, "serve", CHAOS_PROJECT], {
    env: {
      ...process.env,
      NO_COLOR: "1",
      SCHEDULER_ADDR: scheduler,
      WORKER_JWT: "chaos-test-jwt",
      WORKER_RUN_DIR: runDir,
      WORKER_MODEL_CACHE_DIR: join(runDir, "models"),
      RECONNECT_DELAY: String(TIMING.reconnectDelay),
      RECONNECT_MAX_DELAY: String(TIMING.reconnectMaxDelay),
      RECONNECT_JITTER_SECONDS: String(TIMING.reconnectJitter),
      WORKER_KEEPALIVE_TIME_SECONDS: String(TIMING.keepaliveTime),
      WORKER_KEEPALIVE_TIMEOUT_SECONDS: String(TIMING.keepaliveTimeout),
      WORKER_CONNECT_TIMEOUT_SECONDS: String(TIMING.connectTimeout),
      WORKER_DRAIN_TIMEOUT_SECONDS: "10",
      CHAOS_RECORD_DIR: recordDir,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let code: number | null | undefined;
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((done) =>
    child.once("exit", (exitCode) => {
      code = exitCode;
      done(exitCode);
    }),
  );
  cleanups.push(() => {
    if (code === undefined) child.kill("SIGKILL");
    return exited;
  });
  return { child, stderr: () => stderr, exited, exitCode: () => code };
}

export interface Rig {
  scheduler: SchedulerProcess;
  proxy: ChaosProxy;
  worker: WorkerProcess;
  recordDir: string;
}

/** Scheduler, proxy and a worker dialling the scheduler through the proxy, registered once. */
export async function startRig(
  options: { headers?: HeaderMode; env?: NodeJS.ProcessEnv; direct?: boolean } = {},
): Promise<Rig> {
  const scheduler = new SchedulerProcess(tempDir("scheduler"));
  cleanups.push(() => scheduler.kill());
  await scheduler.start(options.headers);
  const proxy = await ChaosProxy.start(() => scheduler.address);
  cleanups.push(() => proxy.close());
  const recordDir = join(tempDir("records"), "executions");
  mkdirSync(recordDir);
  const target = options.direct ? scheduler.address : proxy.address;
  const worker = startWorker(target, recordDir, options.env);
  await waitUntil("the worker registers", 30_000, () => scheduler.registrations().length > 0, worker);
  return { scheduler, proxy, worker, recordDir };
}

/** Polls `check` every 50 ms until it holds; fails after `timeoutMs` with the worker's log. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => boolean,
  worker?: WorkerProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${workerLog(worker)}`);
    }
    await sleep(50);
  }
}

/** Polls `check` until it holds or `timeoutMs` passes; says which. */
export async function holdsWithin(timeoutMs: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

export function workerLog(worker: WorkerProcess | undefined, lastLines = 40): string {
  if (!worker) return "";
  const lines = worker.stderr().trimEnd().split("\n").slice(-lastLines);
  return `\nworker log (last ${lines.length} lines):\n${lines.join("\n")}`;
}

export interface Executions {
  /** Run ids the handler executed at least once. */
  runs: Set<string>;
  /** Run ids the handler executed more than once. */
  duplicated: string[];
}

export function executions(recordDir: string): Executions {
  const runs = new Set<string>();
  const duplicated = new Set<string>();
  for (const name of readdirSync(recordDir)) {
    const duplicate = /^(.*)\.duplicate-/.exec(name);
    if (duplicate?.[1]) duplicated.add(duplicate[1]);
    else runs.add(name);
  }
  return { runs, duplicated: [...duplicated] };
}

export function plannedRun(runId: string, ms: number, at = 0): PlannedRun {
  return { run_id: runId, function_name: HANDLER, payload: { ms }, at };
}

/** mulberry32: a small seeded generator, so that a failing chaos run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
