import type { ErrorType } from "../../contract/errors.js";
import type { RunResult } from "../../contract/task.js";

/** The HTTP status of a run's result, and a `Retry-After` in seconds where a retry may succeed. */
export function httpStatusOf(result: RunResult): { status: number; retryAfterS?: number } {
  if (result.success) return { status: 200 };
  switch (result.rejected) {
    case "too_large":
      return { status: 413 };
    case "duplicate":
      return { status: 409 };
    case "busy":
      return { status: 429, retryAfterS: 1 };
    case "draining":
      return { status: 503, retryAfterS: 5 };
    case undefined:
      break;
  }
  return httpStatusOfErrorType(result.errorType, result.timedOut);
}

/** The HTTP status of a failure of this type; `timedOut` tells a canceled run's deadline from a client's cancel. */
export function httpStatusOfErrorType(
  errorType: ErrorType | "",
  timedOut: boolean,
): { status: number; retryAfterS?: number } {
  switch (errorType) {
    case "validation":
      return { status: 422 };
    case "auth":
      return { status: 401 };
    case "retryable":
      return { status: 503, retryAfterS: 1 };
    case "resource":
      return { status: 503 };
    case "canceled":
      return { status: timedOut ? 504 : 409 };
    default:
      return { status: 500 };
  }
}
