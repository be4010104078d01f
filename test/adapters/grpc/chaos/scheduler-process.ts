import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const SCRIPT = join(import.meta.dirname, "scheduler.mjs");
const START_TIMEOUT_MS = 15_000;

/** `eager`: response headers at once; `lazy`: nothing until the worker registers. */
export type HeaderMode = "eager" | "lazy";

export interface PlannedRun {
  run_id: string;
  function_name: string;
  payload: unknown;
  /** Epoch ms before which the run is not dispatched; 0 = at once. */
  at: number;
}

export interface ResultLine {
  run_id: string;
  success: boolean;
  error_type: string;
  stream: string;
  at: number;
}

export interface DeltaLine {
  run_id: string;
  delta: Record<string, unknown>;
  stream: string;
  at: number;
}

export interface StreamLine {
  event: "open" | "registered" | "closed";
  stream: string;
  at: number;
}

/**
 * The independent scheduler (scheduler.mjs) as a child process that can be SIGKILLed and started
 * again on the same port; its state lives in `stateDir`, shared by all its instances.
 */
export class SchedulerProcess {
  private child: ChildProcess | undefined;
  private port = 0;
  private log = "";

  constructor(readonly stateDir: string) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts an instance (on the port of the first one, after a kill) and waits until it listens. */
  async start(headers: HeaderMode = "eager"): Promise<void> {
    if (this.child) throw new Error("the scheduler is already running");
    const args = [SCRIPT, "--state", this.stateDir, "--port", String(this.port), "--headers", headers];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    child.stderr?.on("data", (chunk: Buffer) => {
      this.log += chunk.toString();
    });
    child.once("exit", () => {
      if (this.child === child) this.child = undefined;
    });
    this.port = await listeningPort(child, () => this.log);
  }

  /** SIGKILL: no goodbye to the worker, its sockets are closed by the kernel. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGKILL");
    await exited;
  }

  addRuns(runs: readonly PlannedRun[]): void {
    appendFileSync(join(this.stateDir, "plan.jsonl"), runs.map((run) => `${JSON.stringify(run)}\n`).join(""));
  }

  results(): ResultLine[] {
    return readJsonLines<ResultLine>(join(this.stateDir, "results.jsonl"));
  }

  /** The `output.delta` events received, in the order they arrived. */
  deltas(): DeltaLine[] {
    return readJsonLines<DeltaLine>(join(this.stateDir, "deltas.jsonl"));
  }

  streams(): StreamLine[] {
    return readJsonLines<StreamLine>(join(this.stateDir, "streams.jsonl"));
  }

  registrations(): StreamLine[] {
    return this.streams().filter((line) => line.event === "registered");
  }

  /** Run ids dispatched so far, by any instance. */
  sent(): string[] {
    return readJsonLines<{ run_id: string }>(join(this.stateDir, "sent.jsonl")).map((line) => line.run_id);
  }

  stderr(): string {
    return this.log;
  }
}

function listeningPort(child: ChildProcess, log: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`the chaos scheduler did not start (${why}):\n${log()}`));
    };
    const timer = setTimeout(() => fail("timeout"), START_TIMEOUT_MS);
    child.once("exit", (code) => fail(`exit ${code}`));
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /\{"listening":(\d+)\}/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
}

/** Complete JSON lines of a file the scheduler appends to (a line still being written is skipped). */
export function readJsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  return text
    .slice(0, text.lastIndexOf("\n") + 1)
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}
