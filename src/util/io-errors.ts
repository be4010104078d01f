import { CanceledError, ResourceError, RetryableError, WorkerError } from "../contract/errors.js";

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

const DISK_FULL_CODES = new Set(["ENOSPC", "EDQUOT"]);

/** Whether an error is a network failure that may pass on a later attempt. */
export function isTransientNetworkError(error: unknown): boolean {
  return transientNetworkCode(error) !== undefined;
}

/** The code of a transient network failure (`ECONNRESET`, `UND_ERR_SOCKET`...), looking through causes. */
export function transientNetworkCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && TRANSIENT_CODES.has(code)) return code;
    current = current.cause;
  }
  return undefined;
}

/** A full disk is the worker's resource problem, not the input's. */
export function diskFullError(error: unknown): ResourceError | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  if (typeof code !== "string" || !DISK_FULL_CODES.has(code)) return undefined;
  return new ResourceError(`no space left on the worker's disk (${code})`, { cause: error });
}

export function errorCode(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

/**
 * What a failed transfer means for the run: the abort's reason when the run was canceled, a
 * WorkerError as it is, a full disk as the worker's ResourceError, a transient network failure
 * as a RetryableError saying `failed` (for example "input download failed"); undefined otherwise.
 */
export function transferFailure(
  error: unknown,
  signal: AbortSignal | undefined,
  failed: string,
): Error | undefined {
  if (signal?.aborted) return abortReason(signal);
  if (error instanceof WorkerError) return error;
  const diskFull = diskFullError(error);
  if (diskFull) return diskFull;
  if (isTransientNetworkError(error)) {
    return new RetryableError(`${failed}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return undefined;
}

/** The header's value, the first one when it came more than once. */
export function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Why a signal aborted, as the error to throw: its reason when that is an error. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new CanceledError("canceled");
}
