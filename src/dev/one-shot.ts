/**
 * The engine of `cozy-worker invoke ENDPOINT --scheduler`: a one-shot scheduler that waits for one
 * worker to connect, sends it one run and prints what comes back, in the Python SDK mock
 * orchestrator's transcript format (`[connected]`, `[sent]`, `[event]`, `[output]`, `[error]`).
 */
import { randomUUID } from "node:crypto";
import { decode, encode } from "@msgpack/msgpack";
import type {
  TaskExecutionRequest,
  TaskExecutionResult__Output,
  WorkerRegistration__Output,
} from "../adapters/grpc/proto.js";
import { UserError } from "../contract/user-errors.js";
import { withTimeout } from "../util/with-timeout.js";
import { type DevFileApi, startDevFileApi } from "./file-api-server.js";
import { type RealtimeOneShotOptions, runRealtimeOneShot } from "./one-shot-realtime.js";
import { pyRepr } from "./py-repr.js";
import {
  type ConnectedWorker,
  type ReceivedMessage,
  SchedulerServer,
  WaitTimeoutError,
} from "./scheduler-server.js";

/** Exit codes, as the Python SDK mock orchestrator's. */
export const OneShotExit = { Success: 0, RunFailed: 1, NoWorker: 2, NoResult: 3 } as const;

/** Where the transcript goes, one line (without its newline) per call. */
export interface OneShotWriter {
  stdout(line: string): void;
  stderr(line: string): void;
}

export interface OneShotOptions {
  functionName: string;
  /** Sent as msgpack. */
  payload: unknown;
  /** The scheduler's `host:port`; default `0.0.0.0:8080`. */
  listen?: string;
  /** How long to wait for a worker, in seconds; default 30. */
  waitS?: number;
  /** How long to wait for the result once the run is sent, in seconds; default max(5, waitS). */
  resultTimeoutS?: number;
  /** Default: a new UUID. */
  runId?: string;
  timeoutMs?: number;
  owner?: string;
  userId?: string;
  /** `required_variant_refs` of the request. */
  requiredModels?: readonly string[];
  fileBaseUrl?: string;
  fileToken?: string;
  /** Serve this folder as a dev file API (its URL becomes the run's `file_base_url` unless given). */
  serveFilesDir?: string;
  /** Where that file API listens; default any free port on every interface (the CLI gives its own default). */
  serveFilesListen?: string;
  /** Print every worker event (output deltas are always printed). */
  printEvents?: boolean;
  printRegistrations?: boolean;
  writer: OneShotWriter;
  /** Aborting it after the run was sent sends `interrupt_run_cmd` (Ctrl-C); the result is still awaited. */
  cancel?: AbortSignal;
  /**
   * Open a realtime session of `functionName` instead of sending a run (`payload` is then unused):
   * the run id is the session id, `requiredModels` its `required_variant_refs`.
   */
  realtime?: RealtimeOneShotOptions;
  /** Called once the servers listen (tests dial the bound port from here). */
  onListening?: (info: { schedulerAddress: string; fileApiUrl?: string }) => void;
}

/** The servers could not start (address in use, bad address, unreadable folder). */
export class OneShotSetupError extends UserError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

/** Runs the one-shot scheduler; resolves with the exit code (see {@link OneShotExit}). */
export async function runOneShot(options: OneShotOptions): Promise<number> {
  const out = options.writer;
  const waitS = options.waitS ?? 30;
  const resultTimeoutS = options.resultTimeoutS ?? Math.max(5, waitS);
  const runId = options.runId ?? randomUUID();

  const scheduler = await SchedulerServer.start(options.listen ?? "0.0.0.0:8080").catch((error: Error) => {
    throw new OneShotSetupError(`scheduler: ${error.message}`);
  });
  let files: DevFileApi | undefined;
  const backlog: ReceivedMessage[] = [];
  let live = false;
  let onResult: (result: TaskExecutionResult__Output) => void = () => {};
  const handle = (received: ReceivedMessage) => {
    const { message } = received;
    if (message.msg === "worker_registration" && message.worker_registration) {
      if (options.printRegistrations)
        out.stdout(formatRegistration(received.stream, message.worker_registration));
    } else if (message.msg === "worker_event" && message.worker_event) {
      const event = message.worker_event;
      const isDelta = event.event_type === "output.delta" && event.run_id === runId;
      if (options.printEvents || isDelta) {
        out.stdout(`[event] ${event.event_type}: ${event.payload_json.toString("utf8")}`);
      }
    } else if (message.msg === "run_result" && message.run_result?.run_id === runId) {
      onResult(message.run_result);
    }
  };
  const unsubscribe = scheduler.onMessage((received) => {
    if (live) handle(received);
    else backlog.push(received);
  });

  try {
    if (options.serveFilesDir !== undefined) {
      files = await startDevFileApi({
        dir: options.serveFilesDir,
        listen: options.serveFilesListen ?? "0.0.0.0:0",
        token: options.fileToken,
      }).catch((error: NodeJS.ErrnoException) => {
        const fix =
          error.code === "EADDRINUSE"
            ? ": another process is listening there; pick another address with --serve-files-listen host:port"
            : "";
        throw new OneShotSetupError(`file API: ${error.message}${fix}`);
      });
    }
    const fileBaseUrl = options.fileBaseUrl ?? files?.url;
    out.stderr(`[listening] scheduler=${scheduler.address}; waiting up to ${waitS}s for a worker`);
    if (files !== undefined) {
      out.stderr(`[listening] files=${files.url} serving ${files.dir} (file_base_url=${fileBaseUrl})`);
    }
    options.onListening?.({
      schedulerAddress: scheduler.address,
      ...(files === undefined ? {} : { fileApiUrl: files.url }),
    });

    let worker: ConnectedWorker;
    try {
      worker = await scheduler.waitForWorker(waitS * 1000);
    } catch (error) {
      if (!(error instanceof WaitTimeoutError)) throw error;
      out.stderr(`[error] no worker connected within ${waitS}s`);
      return OneShotExit.NoWorker;
    }
    printConnected(worker, out);
    live = true;
    for (const received of backlog.splice(0)) handle(received);
    if (options.realtime) {
      const spec = {
        sessionId: runId,
        functionName: options.functionName,
        requiredModels: options.requiredModels ?? [],
        timeoutMs: options.timeoutMs ?? 0,
        owner: options.owner ?? "",
        userId: options.userId ?? "",
        fileBaseUrl: fileBaseUrl ?? "",
        fileToken: options.fileToken ?? "",
      };
      return await runRealtimeOneShot(scheduler, spec, options.realtime, out, options.cancel);
    }

    const result = new Promise<TaskExecutionResult__Output>((resolve) => {
      onResult = resolve;
    });
    const request: TaskExecutionRequest = {
      run_id: runId,
      function_name: options.functionName,
      input_payload: encode(options.payload),
      required_variant_refs: [...(options.requiredModels ?? [])],
      timeout_ms: options.timeoutMs ?? 0,
      owner: options.owner ?? "",
      user_id: options.userId ?? "",
      file_base_url: fileBaseUrl ?? "",
      file_token: options.fileToken ?? "",
    };
    try {
      scheduler.send({ run_request: request });
    } catch {
      out.stderr("[error] the worker disconnected before the run could be sent");
      return OneShotExit.NoWorker;
    }
    out.stdout(`[sent] run_id=${runId} function=${pyRepr(options.functionName)}`);
    options.cancel?.addEventListener(
      "abort",
      () => {
        try {
          scheduler.send({ interrupt_run_cmd: { run_id: runId } });
          out.stderr(`[cancel] sent interrupt_run_cmd for ${runId}; waiting for its result`);
        } catch {
          out.stderr("[cancel] the worker is gone; nothing to interrupt");
        }
      },
      { once: true },
    );

    const outcome = await withTimeout(result, resultTimeoutS * 1000);
    if (outcome === undefined) {
      out.stderr(`[error] no result within ${resultTimeoutS}s of sending the run`);
      return OneShotExit.NoResult;
    }
    return printResult(outcome, out);
  } finally {
    unsubscribe();
    await files?.close();
    await scheduler.stop();
  }
}

function printConnected(worker: ConnectedWorker, out: OneShotWriter): void {
  const resources = worker.registration.resources;
  out.stdout(
    `[connected] worker_id=${pyRepr(resources?.worker_id ?? "")} release_id=${pyRepr(resources?.release_id ?? "")}`,
  );
  out.stdout(`[connected] functions=${pyList(resources?.available_functions ?? [])}`);
  const pairs = Object.entries(worker.connection.metadata).flatMap(([key, values]) =>
    values.map(
      (value) => `(${pyRepr(key)}, ${pyRepr(key === "authorization" ? redactAuthorization(value) : value)})`,
    ),
  );
  out.stdout(`[connected] metadata=[${pairs.join(", ")}]`);
}

function printResult(result: TaskExecutionResult__Output, out: OneShotWriter): number {
  let undecodable = false;
  if (result.output_payload.length === 0) {
    out.stdout("[output] <empty>");
  } else {
    try {
      out.stdout(`[output] ${prettySortedJson(decode(result.output_payload))}`);
    } catch (error) {
      undecodable = true;
      out.stdout(`[output] <${result.output_payload.length} bytes that are not msgpack>`);
      out.stderr(`[error] cannot decode the output: ${(error as Error).message}`);
    }
  }
  if (!result.success) {
    out.stderr(
      `[error] type=${pyRepr(result.error_type)} retryable=${result.retryable ? "True" : "False"} safe=${pyRepr(result.safe_message)}`,
    );
    out.stderr(`[error] message=${result.error_message}`);
    return OneShotExit.RunFailed;
  }
  return undecodable ? OneShotExit.RunFailed : OneShotExit.Success;
}

function formatRegistration(stream: number, registration: WorkerRegistration__Output): string {
  const resources = registration.resources;
  return [
    `[registration] stream=${stream}`,
    `heartbeat=${registration.is_heartbeat ? "True" : "False"}`,
    `functions=${pyList(resources?.available_functions ?? [])}`,
    `vram_models=${pyList(resources?.vram_models ?? [])}`,
    `disk_models=${pyList(resources?.disk_models ?? [])}`,
    `gpu_is_busy=${resources?.gpu_is_busy ? "True" : "False"}`,
  ].join(" ");
}

/**
 * `Bearer <token>` → `Bearer <first 8 characters>...<redacted>`; at most half of a short token is
 * shown. Any other authorization value is hidden whole.
 */
function redactAuthorization(value: string): string {
  const match = /^(Bearer\s+)(.*)$/is.exec(value);
  if (!match) return "<redacted>";
  const token = match[2] ?? "";
  const shown = token.slice(0, Math.min(8, Math.floor(token.length / 2)));
  return `${match[1]}${shown}...<redacted>`;
}

/** Indented JSON with sorted keys; bytes, big integers and dates made printable. */
function prettySortedJson(value: unknown): string {
  return JSON.stringify(printable(value), null, 2) ?? "null";
}

function printable(value: unknown): unknown {
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(printable);
  if (value instanceof Map) return printable(Object.fromEntries(value));
  if (value !== null && typeof value === "object") {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      sorted[key] = printable((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

function pyList(items: readonly string[]): string {
  return `[${items.map(pyRepr).join(", ")}]`;
}
