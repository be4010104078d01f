import { type ChildProcess, spawn } from "node:child_process";
import { decode, encode } from "@msgpack/msgpack";
import type { TaskExecutionRequest, WorkerSchedulerMessage__Output } from "../../src/adapters/grpc/proto.js";
import { type ReceivedMessage, SchedulerServer } from "../../src/dev/scheduler-server.js";
import { CLI, removeTenantBundles } from "./runner-process.js";

export interface WorkerProcess {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `cozy-worker serve <project> [extraArgs]` dialling the given scheduler. */
export function startWorker(
  projectDir: string,
  env: NodeJS.ProcessEnv,
  extraArgs: string[] = [],
): WorkerProcess {
  const child = spawn(process.execPath, [CLI, "serve", projectDir, ...extraArgs], {
    env: {
      ...process.env,
      WORKER_JWT: "test-jwt",
      RECONNECT_DELAY: "0.2",
      RECONNECT_JITTER_SECONDS: "0.1",
      RECONNECT_MAX_DELAY: "2",
      NO_COLOR: "1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return {
    child,
    stderr: () => stderr,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface WorkerWithScheduler {
  scheduler: SchedulerServer;
  worker: WorkerProcess;
  /** Kills the worker, stops the scheduler and removes the handler bundles the worker left. */
  stop(): Promise<void>;
}

/**
 * A scheduler on a free loopback port and `cozy-worker serve <project>` dialling it (`env` laid over
 * SCHEDULER_ADDR); resolves once the worker has registered, and stops both when it does not.
 */
export async function startWorkerWithScheduler(
  projectDir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<WorkerWithScheduler> {
  const scheduler = await SchedulerServer.start("127.0.0.1:0");
  const worker = startWorker(projectDir, { SCHEDULER_ADDR: scheduler.address, ...env });
  const stop = async () => {
    await worker.stop("SIGKILL");
    await scheduler.stop();
    await removeTenantBundles(projectDir, worker.child.pid);
  };
  try {
    await scheduler.waitForWorker(20_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { scheduler, worker, stop };
}

/** Sends a run_request with a msgpack payload (and, when given, the scheduler's resolved cozy: URLs). */
export function sendRun(
  scheduler: SchedulerServer,
  runId: string,
  functionName: string,
  payload: unknown,
  extra: Pick<TaskExecutionRequest, "timeout_ms" | "resolved_cozy_models_by_id"> = {},
): void {
  scheduler.send({
    run_request: {
      ...extra,
      run_id: runId,
      function_name: functionName,
      input_payload: Buffer.from(encode(payload)),
      timeout_ms: extra.timeout_ms ?? 0,
    },
  });
}

export function resultOf(scheduler: SchedulerServer, runId: string, timeoutMs = 15_000) {
  return scheduler
    .waitFor((r) => r.message.msg === "run_result" && r.message.run_result?.run_id === runId, timeoutMs)
    .then((r) => r.message.run_result as NonNullable<WorkerSchedulerMessage__Output["run_result"]>);
}

export function eventsOf(scheduler: SchedulerServer, runId: string): { type: string; payload: unknown }[] {
  return scheduler.received
    .filter(
      (r: ReceivedMessage) => r.message.msg === "worker_event" && r.message.worker_event?.run_id === runId,
    )
    .map((r) => ({
      type: r.message.worker_event?.event_type ?? "",
      payload: JSON.parse(r.message.worker_event?.payload_json.toString("utf8") || "{}"),
    }));
}

export function decodeOutput(bytes: Buffer): unknown {
  return bytes.byteLength === 0 ? null : decode(bytes);
}

export type RegisteredResources = NonNullable<
  NonNullable<WorkerSchedulerMessage__Output["worker_registration"]>["resources"]
>;

/** The next registration (received at or after `after`) whose resources satisfy `check`. */
export async function registrationWhere(
  scheduler: SchedulerServer,
  check: (resources: RegisteredResources) => boolean,
  after = 0,
): Promise<RegisteredResources> {
  const found = await scheduler.waitFor(
    (r) =>
      r.at >= after &&
      r.message.msg === "worker_registration" &&
      check(r.message.worker_registration?.resources as RegisteredResources),
    15_000,
  );
  return found.message.worker_registration?.resources as RegisteredResources;
}

/** The payloads of the model events (run id "") of one type, in order. */
export function modelEventsOf(scheduler: SchedulerServer, type: string): Record<string, unknown>[] {
  return eventsOf(scheduler, "")
    .filter((e) => e.type === type)
    .map((e) => e.payload as Record<string, unknown>);
}
