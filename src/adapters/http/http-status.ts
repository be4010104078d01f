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
  switch (result.errorType) {
    case "validation":
      return { status: 422 };
    case "auth":
      return { status: 401 };
    case "retryable":
      return { status: 503, retryAfterS: 1 };
    case "resource":
      return { status: 503 };
    case "canceled":
      return { status: result.timedOut ? 504 : 409 };
    default:
      return { status: 500 };
  }
}
