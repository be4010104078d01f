import type { IncomingMessage, ServerResponse } from "node:http";
import { type ErrorType, WorkerError } from "../../contract/errors.js";
import type { ManifestFunction } from "../../contract/manifest.js";
import { parseModelRef } from "../../contract/model-ref.js";
import type { ResolvedCozyModels } from "../../contract/scheduler.js";
import type { Executor } from "../../runtime/executor.js";
import { EnvelopeError, taskFromBody } from "./envelope.js";
import { methodNotAllowed, RUN_BODY_LIMIT, readBody, sendJson, sendUnknownFunction } from "./http-io.js";
import { httpStatusOfErrorType } from "./http-status.js";

/** What `unload` answers: the model host's own outcome. */
export type DevUnloadOutcome =
  | { unloaded: true }
  | { unloaded: false; reason: "in_use" | "not_loaded"; message: string };

/** One model's prefetch: `errorType` is the failure's class name, as the Python SDK reported it. */
export type DevPrefetchOutcome = { ok: true } | { ok: false; errorType: string; message: string };

export interface DevWarmupRequest {
  fn: ManifestFunction;
  /** The payload a run would get (for `PayloadModel` fields). */
  payload: unknown;
  runId: string;
  resolvedCozyModels?: ResolvedCozyModels;
}

/**
 * What the model routes ask of the dev runner's model host. The runner (src/dev/local-runner.ts)
 * implements it, creating the host on first need.
 */
export interface DevModelControl {
  /** The model cache's state, as `/v1/status` shows it (`{}` before a model host exists). */
  stats(): Record<string, unknown>;
  /** Downloads the model if needed and creates its sessions (not pinned); throws why it cannot. */
  load(modelId: string): Promise<void>;
  /** Releases the model's sessions; refused while a run uses it. */
  unload(modelId: string): Promise<DevUnloadOutcome>;
  /** Downloads the model into the disk cache; never throws. */
  prefetch(modelId: string): Promise<DevPrefetchOutcome>;
  /**
   * Loads the models a run of `fn` with this payload would get, then lets them go (loaded, not
   * pinned); returns their model ids, in `injection_json` order. Throws why it cannot.
   */
  warmup(request: DevWarmupRequest): Promise<string[]>;
  /** The ref a cozy.toml model key names, if it names one (for the message of a key sent as a ref). */
  refOfKey?(key: string): string | undefined;
}

/** Bodies of the model routes are a few ids; warm-up bodies are run envelopes ({@link RUN_BODY_LIMIT}). */
const MODEL_BODY_LIMIT = 1024 * 1024;
const MODEL_ID_EXAMPLE = '{"model_id": "hf:owner/repo"}';
const MODELS_EXAMPLE = '{"models": ["hf:owner/repo", "cozy:owner/repo:tag"]}';

/**
 * The Python SDK dev runner's model routes: `GET /v1/models/status`, `POST /v1/models/load`,
 * `POST /v1/models/unload`, `POST /v1/models/prefetch` and `POST /v1/warmup/{function}`. Answers and
 * returns true when `parts` (the decoded path segments) is one of them; returns false otherwise, and
 * always when the runner has no `models`.
 */
export async function serveModelRoute(
  req: IncomingMessage,
  res: ServerResponse,
  parts: readonly string[],
  models: DevModelControl | undefined,
  executor: Executor,
): Promise<boolean> {
  if (models === undefined || parts[0] !== "v1") return false;
  if (parts[1] === "warmup" && parts.length === 3) {
    if (req.method !== "POST") methodNotAllowed(res, "POST");
    else await warmup(req, res, parts[2] ?? "", models, executor);
    return true;
  }
  if (parts[1] !== "models" || parts.length !== 3) return false;
  const action = parts[2];
  if (action === "status") {
    if (req.method !== "GET") methodNotAllowed(res, "GET");
    else sendJson(res, 200, { ok: true, model_cache: models.stats() });
    return true;
  }
  if (action !== "load" && action !== "unload" && action !== "prefetch") return false;
  if (req.method !== "POST") {
    methodNotAllowed(res, "POST");
    return true;
  }
  const body = await readJsonBody(req, res, MODEL_BODY_LIMIT, {});
  if (body === undefined) return true;
  if (!isObject(body.value)) {
    const example = action === "prefetch" ? MODELS_EXAMPLE : MODEL_ID_EXAMPLE;
    sendJson(res, 400, {
      error: "invalid_body",
      message: `the body must be a JSON object such as ${example}`,
    });
    return true;
  }
  if (action === "prefetch") await prefetch(res, body.value, models);
  else await loadOrUnload(action, res, body.value, models);
  return true;
}

async function loadOrUnload(
  action: "load" | "unload",
  res: ServerResponse,
  body: Record<string, unknown>,
  models: DevModelControl,
): Promise<void> {
  const modelId = modelIdOf(res, body, models);
  if (modelId === undefined) return;
  const started = performance.now();
  if (action === "unload") {
    const outcome = await models.unload(modelId);
    if (outcome.unloaded) return sendJson(res, 200, { ok: true, error_message: "", model_id: modelId });
    if (outcome.reason === "in_use") {
      return sendJson(res, 409, {
        ok: false,
        error_message: "model_in_use",
        message: `${outcome.message}: unload it once those runs have finished`,
        model_id: modelId,
      });
    }
    return sendJson(res, 404, {
      ok: false,
      error_message: "model_not_loaded",
      message: `${outcome.message}, so there is nothing to unload (GET /v1/models/status lists the loaded models)`,
      model_id: modelId,
    });
  }
  try {
    await models.load(modelId);
  } catch (error) {
    const { status, retryAfterS, errorType } = failureOf(error);
    if (retryAfterS !== undefined) res.setHeader("Retry-After", String(retryAfterS));
    return sendJson(res, status, {
      ok: false,
      error_message: messageOf(error),
      error_type: errorType,
      model_id: modelId,
      duration_ms: elapsed(started),
    });
  }
  sendJson(res, 200, { ok: true, error_message: "", model_id: modelId, duration_ms: elapsed(started) });
}

/** The body's `model_id`, trimmed and checked as a ref; answers 400 and returns undefined otherwise. */
function modelIdOf(
  res: ServerResponse,
  body: Record<string, unknown>,
  models: DevModelControl,
): string | undefined {
  const raw = body.model_id;
  if (raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "")) {
    sendJson(res, 400, { error: "missing_model_id", message: `name the model: send ${MODEL_ID_EXAMPLE}` });
    return undefined;
  }
  if (typeof raw !== "string") {
    sendJson(res, 400, {
      error: "invalid_model_id",
      message: `model_id must be a string such as "hf:owner/repo", got ${describe(raw)}`,
    });
    return undefined;
  }
  const problem = refProblem(raw.trim(), models);
  if (problem === undefined) return raw.trim();
  sendJson(res, 400, { error: "invalid_model_id", message: problem });
  return undefined;
}

/** Why `text` is not a model ref, saying which ref it names when it is a cozy.toml key. */
function refProblem(text: string, models: DevModelControl): string | undefined {
  try {
    parseModelRef(text);
    return undefined;
  } catch (error) {
    const ref = models.refOfKey?.(text);
    const hint =
      ref === undefined
        ? "model ids are refs such as hf:owner/repo or cozy:owner/repo:tag, not cozy.toml keys"
        : `"${text}" is a key of cozy.toml: send its ref, "${ref}"`;
    return `${(error as Error).message}; ${hint}`;
  }
}

async function prefetch(
  res: ServerResponse,
  body: Record<string, unknown>,
  models: DevModelControl,
): Promise<void> {
  const list = body.models;
  if (list !== undefined && list !== null && !Array.isArray(list)) {
    return sendJson(res, 400, {
      error: "invalid_models",
      message: `models must be an array of model refs such as ${MODELS_EXAMPLE}, got ${describe(list)}`,
    });
  }
  const entries = (list ?? []) as unknown[];
  const notText = entries.findIndex((entry) => typeof entry !== "string");
  if (notText >= 0) {
    return sendJson(res, 400, {
      error: "invalid_models",
      message: `models[${notText}] must be a model ref string such as "hf:owner/repo", got ${describe(entries[notText])}`,
    });
  }
  // Blank entries are skipped, as in the Python SDK.
  const ids = (entries as string[]).map((entry) => entry.trim()).filter((entry) => entry !== "");
  if (ids.length === 0) {
    return sendJson(res, 400, {
      error: "missing_models",
      message: `name the models: send ${MODELS_EXAMPLE}`,
    });
  }
  const results = await Promise.all(
    ids.map(async (modelId) => {
      const started = performance.now();
      const problem = refProblem(modelId, models);
      const outcome: DevPrefetchOutcome =
        problem === undefined
          ? await models.prefetch(modelId)
          : { ok: false, errorType: "ModelRefError", message: problem };
      const duration_ms = elapsed(started);
      return outcome.ok
        ? { model_id: modelId, ok: true, duration_ms }
        : {
            model_id: modelId,
            ok: false,
            error_type: outcome.errorType,
            error_message: outcome.message,
            duration_ms,
          };
    }),
  );
  sendJson(res, 200, { results });
}

async function warmup(
  req: IncomingMessage,
  res: ServerResponse,
  endpoint: string,
  models: DevModelControl,
  executor: Executor,
): Promise<void> {
  const body = await readJsonBody(req, res, RUN_BODY_LIMIT, {});
  if (body === undefined) return;
  let task: ReturnType<typeof taskFromBody>;
  try {
    task = taskFromBody(endpoint, body.value, body.bytes);
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    return sendJson(res, 400, { error: error.code, message: error.message });
  }
  const fn = executor.manifestFunctions().find((f) => f.name === endpoint || f.endpoint_name === endpoint);
  if (fn === undefined) {
    return sendUnknownFunction(res, endpoint, executor.functionNames());
  }
  const runId = task.task.runId;
  const started = performance.now();
  let loaded: string[];
  try {
    loaded = await models.warmup({
      fn,
      payload: task.task.payload,
      runId,
      ...(task.resolvedCozyModels ? { resolvedCozyModels: task.resolvedCozyModels } : {}),
    });
  } catch (error) {
    const { status, retryAfterS, errorType } = failureOf(error);
    if (retryAfterS !== undefined) res.setHeader("Retry-After", String(retryAfterS));
    return sendJson(res, status, {
      ok: false,
      run_id: runId,
      duration_ms: elapsed(started),
      models: [],
      error_type: errorType,
      error_message: messageOf(error),
    });
  }
  sendJson(res, 200, { ok: true, run_id: runId, duration_ms: elapsed(started), models: loaded });
}

/**
 * The HTTP status of a failed load or warm-up, by error type as for runs, except that `fatal` is 422:
 * here it means the model named (a missing repo, a file that is not ONNX) cannot be loaded, not that
 * the runner broke.
 */
function failureOf(error: unknown): { status: number; retryAfterS?: number; errorType: ErrorType } {
  const errorType = error instanceof WorkerError ? error.errorType : "internal";
  if (errorType === "fatal") return { status: 422, errorType };
  return { ...httpStatusOfErrorType(errorType, false), errorType };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads a JSON body of at most `limit` bytes; an empty body is `empty`. Answers 400 or 413 and
 * returns undefined when it is not JSON or too large, and when the client hung up.
 */
async function readJsonBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  empty: unknown,
): Promise<{ value: unknown; bytes: number } | undefined> {
  const raw = await readBody(req, res, limit);
  if (raw === undefined) return undefined;
  const text = raw.toString("utf8");
  if (text.trim() === "") return { value: empty, bytes: 0 };
  try {
    return { value: JSON.parse(text), bytes: raw.byteLength };
  } catch (error) {
    sendJson(res, 400, {
      error: "invalid_json",
      message: `the request body is not JSON: ${(error as Error).message}`,
    });
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
