import { FatalError, ResourceError, RetryableError, WorkerError } from "../../contract/errors.js";
import { ModelRefError } from "../../contract/model-ref.js";
import { DownloadError, DownloadNotFoundError } from "../download/download-file.js";
import { InsufficientDeviceMemoryError } from "../sessions/device-cache.js";
import { SessionCreateError } from "../sessions/execution-providers.js";
import { isOutOfMemory } from "../sessions/out-of-memory.js";
import { CozyHubError } from "../sources/cozy-hub.js";
import { HfSelectionError } from "../sources/hf-file-selection.js";
import { HfHubError, HfNotFoundError } from "../sources/hf-hub.js";

/** Device memory ran out; another worker (or this one, later) may have room, so the run may be retried. */
export class DeviceMemoryError extends ResourceError {
  override readonly retryable = true;
}

/**
 * What a failed model load means for the run: a missing repo or file is
 * `fatal` with the ref and the fix, as is a `cozy:` model without usable resolved URLs; a network
 * failure `retryable`; a refused token or an expired presigned URL `auth` (an `AuthError`
 * already); full device memory `resource` (retryable); a full disk `resource`.
 */
export function modelLoadError(modelId: string, error: unknown): Error {
  if (error instanceof WorkerError) return error;
  const mapped = mapLoadError(modelId, error);
  // The hub's own error class stays reachable (the dev runner's prefetch reports it, as the Python SDK did).
  mapped.cause ??= error;
  return mapped;
}

/** The class name of the error behind a model failure: the hub's (`HfNotFoundError`) rather than the mapped one's. */
export function modelErrorClass(error: Error): string {
  return error.cause instanceof Error ? error.cause.name : error.name;
}

function mapLoadError(modelId: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof InsufficientDeviceMemoryError) {
    return new DeviceMemoryError(
      `${message}; raise WORKER_MAX_VRAM_GB (or WORKER_MAX_RAM_SESSION_GB on CPU) or lower concurrency`,
    );
  }
  const cozy = modelId.startsWith("cozy:");
  if (error instanceof HfNotFoundError || error instanceof DownloadNotFoundError) {
    return new FatalError(
      cozy
        ? `model ${modelId} was not found (${message}): the presigned URLs the scheduler sent point at no file; check that the snapshot still exists in Cozy Hub`
        : `model ${modelId} was not found (${message}): check the ref and its revision in cozy.toml, and HF_ENDPOINT`,
    );
  }
  if (error instanceof CozyHubError) {
    if (error.status === 404) return new FatalError(`model ${modelId} was not found: ${message}`);
    return error.retryable
      ? new RetryableError(`could not resolve model ${modelId}: ${message}`)
      : new FatalError(message.startsWith(modelId) ? message : `model ${modelId}: ${message}`);
  }
  if (error instanceof HfHubError || error instanceof DownloadError) {
    return error.retryable
      ? new RetryableError(`could not download model ${modelId}: ${message}`)
      : new FatalError(`could not download model ${modelId}: ${message}`);
  }
  if (error instanceof SessionCreateError) {
    if (isOutOfMemory(message)) {
      return new DeviceMemoryError(
        `out of memory loading model ${modelId}, also after evicting the models not in use: ${message}; retry later, or lower concurrency or WORKER_MAX_VRAM_GB`,
      );
    }
    return new FatalError(
      `model ${modelId} cannot be loaded by ONNX Runtime (${message}): check that its graphs are valid ONNX for onnxruntime-node, and WORKER_ORT_PROVIDERS`,
    );
  }
  if (error instanceof HfSelectionError || error instanceof ModelRefError) {
    return new FatalError(`model ${modelId}: ${message}`);
  }
  if (isOutOfMemory(error)) {
    return new DeviceMemoryError(
      `out of memory loading model ${modelId}, also after evicting the models not in use: ${message}; retry later, or lower concurrency or WORKER_MAX_VRAM_GB`,
    );
  }
  if ((error as NodeJS.ErrnoException).code === "ENOSPC") {
    return new ResourceError(
      `no disk space left for model ${modelId}: free space in WORKER_MODEL_CACHE_DIR or lower WORKER_MODEL_CACHE_MAX_GB`,
    );
  }
  return error instanceof Error ? error : new Error(message);
}
