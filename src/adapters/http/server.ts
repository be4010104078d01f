import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { eventName, type RunEvent } from "../../contract/events.js";
import type { ManifestFunction } from "../../contract/manifest.js";
import type { ResolvedCozyModels } from "../../contract/scheduler.js";
import type { RunResult, TaskRequest } from "../../contract/task.js";
import type { Executor } from "../../runtime/executor.js";
import { withDevRunnerFileApiHint } from "../../runtime/files/file-api.js";
import { EnvelopeError, taskFromBody } from "./envelope.js";
import {
  methodNotAllowed,
  RUN_BODY_LIMIT,
  readBody,
  sendJson,
  sendJsonText,
  sendUnknownFunction,
} from "./http-io.js";
import { httpStatusOf } from "./http-status.js";
import { type DevModelControl, serveModelRoute } from "./model-routes.js";

export interface DevServerOptions {
  /** The executor of the current code (it changes when `--watch` reloads). */
  executor(): Executor;
  /** Told about every finished run, for the access log. */
  onRunDone?(result: RunResult, status: number): void;
  /** The model cache's state for `/v1/status` (loaded, on disk, pinned, memory). */
  modelCache?(): Record<string, unknown>;
  /** Presigned `cozy:` model URLs a request brought, for the model host. */
  offerResolvedCozyModels?(models: ResolvedCozyModels): void;
  /** The functions of the current code, for `GET /v1/functions`; without it that route is a 404. */
  functions?(): readonly ManifestFunction[];
  /** The model host's commands, for `/v1/models/*` and `/v1/warmup/{fn}`; without it those are 404s. */
  models?: DevModelControl;
}

/**
 * The dev HTTP runner: the Python SDK's routes and response shapes, plus server-sent events,
 * cancellation, `/health` and HTTP statuses by error type.
 */
export function createDevServer(options: DevServerOptions): Server {
  const server = createServer((req, res) => {
    route(req, res, options).catch((error: unknown) => {
      sendJson(res, 500, { success: false, error_type: "internal", safe_message: "internal error" });
      process.emitWarning(`dev runner: ${(error as Error).stack ?? String(error)}`);
    });
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

async function route(req: IncomingMessage, res: ServerResponse, options: DevServerOptions): Promise<void> {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  const pathname = query < 0 ? url : url.slice(0, query);
  let parts: string[];
  try {
    parts = (pathname.match(/[^/]+/g) ?? []).map(decodePart);
  } catch {
    return sendJson(res, 400, { error: "invalid_path", message: `cannot decode the path ${pathname}` });
  }
  const executor = options.executor();
  if (req.method === "GET" && pathname === "/health") return health(res, executor);
  if (req.method === "GET" && pathname === "/v1/status") {
    const modelCache = options.modelCache?.() ?? {};
    return sendJson(res, 200, { ok: true, functions: executor.functionNames(), model_cache: modelCache });
  }
  if (pathname === "/v1/functions" && options.functions) {
    if (req.method !== "GET") return methodNotAllowed(res, "GET");
    return sendJson(res, 200, { functions: describeFunctions(options.functions()) });
  }
  if (parts[0] === "v1" && parts[1] === "run" && parts.length === 3) {
    if (req.method !== "POST") return methodNotAllowed(res, "POST");
    return runEndpoint(req, res, executor, parts[2] ?? "", options);
  }
  if (parts[0] === "v1" && parts[1] === "runs" && parts[3] === "cancel" && parts.length === 4) {
    if (req.method !== "POST") return methodNotAllowed(res, "POST");
    const runId = parts[2] ?? "";
    if (executor.cancel(runId)) return sendJson(res, 200, { ok: true, run_id: runId });
    return sendJson(res, 404, { ok: false, error: "unknown_run", message: `no run ${runId} is in flight` });
  }
  if (await serveModelRoute(req, res, parts, options.models, executor)) return;
  sendJson(res, 404, {
    error: "not_found",
    message: `no route ${req.method} ${pathname}: use POST /v1/run/{endpoint}, GET /v1/functions, GET /v1/status or GET /health`,
  });
}

/** Each function's name, endpoint, description, mode and schemas, sorted by name like `/v1/status`. */
function describeFunctions(functions: readonly ManifestFunction[]): Record<string, unknown>[] {
  return [...functions]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((fn) => ({
      name: fn.name,
      endpoint: fn.endpoint_name,
      description: fn.description ?? null,
      streaming: fn.output_mode === "incremental",
      input_schema: fn.input_schema,
      output_schema: fn.output_schema,
    }));
}

/** Parts without escapes skip decodeURIComponent, which costs more than the rest of the routing. */
function decodePart(part: string): string {
  return part.includes("%") ? decodeURIComponent(part) : part;
}

function health(res: ServerResponse, executor: Executor): void {
  if (executor.isDraining) sendJson(res, 503, { status: "draining", in_flight: executor.inFlight });
  else sendJson(res, 200, { status: executor.inFlight > 0 ? "busy" : "ready", in_flight: executor.inFlight });
}

async function runEndpoint(
  req: IncomingMessage,
  res: ServerResponse,
  executor: Executor,
  endpoint: string,
  options: DevServerOptions,
): Promise<void> {
  const raw = await readBody(req, res, RUN_BODY_LIMIT);
  if (raw === undefined) return;
  let task: TaskRequest;
  let resolvedCozyModels: ResolvedCozyModels | undefined;
  try {
    ({ task, resolvedCozyModels } = taskFromBody(endpoint, JSON.parse(raw.toString("utf8")), raw.byteLength));
  } catch (error) {
    if (error instanceof EnvelopeError)
      return sendJson(res, 400, { error: error.code, message: error.message });
    return sendJson(res, 400, {
      error: "invalid_json",
      message: `the request body is not JSON: ${(error as Error).message}`,
    });
  }
  if (!executor.has(endpoint)) {
    return sendUnknownFunction(res, endpoint, executor.functionNames());
  }
  if (resolvedCozyModels) options.offerResolvedCozyModels?.(resolvedCozyModels);
  const stream = (req.headers.accept ?? "").includes("text/event-stream");
  // Each event is serialized once, as it arrives; the body is then joined from the pieces.
  const events: string[] = [];
  let finished = false;
  res.on("close", () => {
    if (!finished) executor.cancel(task.runId, "the client disconnected");
  });
  if (stream) startEventStream(res);
  const runIdJson = JSON.stringify(task.runId);
  const onEvent = (event: RunEvent) => {
    const name = eventName(event);
    const payload =
      event.type === "output.error"
        ? { ...event.payload, message: withDevRunnerFileApiHint(event.payload.message) }
        : event.payload;
    const json = `{"run_id":${runIdJson},"event_type":${JSON.stringify(name)},"payload":${JSON.stringify(payload)}}`;
    if (stream) res.write(`event: ${name}\ndata: ${json}\n\n`);
    else events.push(json);
  };
  const result = devRunnerResult(await executor.run(task, onEvent));
  finished = true;
  const body = responseJson(result, events);
  const { status, retryAfterS } = httpStatusOf(result);
  options.onRunDone?.(result, stream ? 200 : status);
  if (stream) {
    res.end(`event: result\ndata: ${body}\n\n`);
    return;
  }
  if (retryAfterS !== undefined) res.setHeader("Retry-After", String(retryAfterS));
  sendJsonText(res, status, body);
}

/** A failure tells how to fix it on this runner (a missing file API is `--files`, not a variable). */
function devRunnerResult(result: RunResult): RunResult {
  if (result.success) return result;
  return {
    ...result,
    safeMessage: withDevRunnerFileApiHint(result.safeMessage),
    errorMessage: withDevRunnerFileApiHint(result.errorMessage),
  };
}

/** The Python SDK's response body, as JSON text around the already-serialized events. */
function responseJson(result: RunResult, events: string[]): string {
  const head = JSON.stringify({
    run_id: result.runId,
    success: result.success,
    output: result.output,
    error_type: result.errorType,
    safe_message: result.safeMessage,
    error_message: result.errorMessage,
  });
  const totalMs = Math.round(result.totalMs * 1000) / 1000;
  return `${head.slice(0, -1)},"events":[${events.join(",")}],"timing_ms":{"total_ms":${totalMs}}}`;
}

function startEventStream(res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  res.flushHeaders();
}
