import { randomUUID } from "node:crypto";
import { canonicalizeModelRef } from "../../contract/model-ref.js";
import type { ResolvedCozyModels } from "../../contract/scheduler.js";
import type { TaskRequest } from "../../contract/task.js";

export class EnvelopeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "EnvelopeError";
  }
}

/**
 * Turns a request body into a task. The body is the raw payload, or an envelope
 * `{"payload": {...}, "run_id"?, "timeout_ms"?, "owner"?, "user_id"?, "required_variant_refs"?,
 * "resolved_cozy_models_by_id"?}`; it is an envelope only when `payload` is an object or an array
 * (as in the Python SDK's dev runner). Presigned model URLs are returned apart: they go to the model host.
 */
export function taskFromBody(
  functionName: string,
  body: unknown,
  payloadBytes: number,
): { task: TaskRequest; resolvedCozyModels?: ResolvedCozyModels } {
  if (!isEnvelope(body)) {
    return { task: { runId: randomUUID(), functionName, payload: body, payloadBytes } };
  }
  const task: TaskRequest = {
    runId: optionalString(body, "run_id") ?? randomUUID(),
    functionName,
    payload: body.payload,
    payloadBytes,
  };
  const timeoutMs = body.timeout_ms;
  if (timeoutMs !== undefined && timeoutMs !== null) {
    if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
      const got = typeof timeoutMs === "number" ? String(timeoutMs) : `a ${typeof timeoutMs}`;
      throw new EnvelopeError(
        "invalid_envelope",
        `$.timeout_ms must be a finite number of milliseconds, 0 or more (0 or absent: no timeout), got ${got}`,
      );
    }
    task.timeoutMs = timeoutMs;
  }
  const owner = optionalString(body, "owner");
  if (owner !== undefined) task.owner = owner;
  const userId = optionalString(body, "user_id");
  if (userId !== undefined) task.userId = userId;
  const models = body.required_variant_refs ?? body.required_models;
  if (models !== undefined && models !== null) {
    if (!Array.isArray(models) || !models.every((m) => typeof m === "string")) {
      throw new EnvelopeError("invalid_envelope", "$.required_variant_refs must be an array of strings");
    }
    task.requiredModels = models.map(canonicalizeModelRef);
  }
  const resolved = body.resolved_cozy_models_by_id;
  if (
    resolved !== undefined &&
    resolved !== null &&
    (typeof resolved !== "object" || Array.isArray(resolved))
  ) {
    throw new EnvelopeError("invalid_envelope", "$.resolved_cozy_models_by_id must be an object");
  }
  // Plain JSON objects work: the disk cache reads each entry's fields and reports what is wrong.
  return resolved ? { task, resolvedCozyModels: resolved as ResolvedCozyModels } : { task };
}

type Envelope = Record<string, unknown> & { payload: unknown };

function isEnvelope(body: unknown): body is Envelope {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return false;
  const payload = (body as Record<string, unknown>).payload;
  return payload !== null && typeof payload === "object";
}

function optionalString(body: Envelope, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new EnvelopeError("invalid_envelope", `$.${key} must be a string`);
  return value;
}
