import { WorkerError } from "../contract/errors.js";
import type { RunFailure } from "../contract/task.js";

const MAX_SAFE_MESSAGE = 500;
const OUT_OF_MEMORY = /out of memory|failed to allocate memory|OutOfMemory|bad_alloc/i;

/** Maps anything a handler (or the runtime around it) threw to the Python SDK's error table. */
export function describeFailure(error: unknown): RunFailure {
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  const errorMessage = `${name}: ${message}`;
  if (error instanceof WorkerError) {
    // The scheduler shows every cancel the same way; the reason (a timeout, a client) stays in errorMessage.
    if (error.errorType === "canceled") {
      return { errorType: "canceled", retryable: false, safeMessage: "canceled", errorMessage };
    }
    const fallback = (error.constructor as typeof WorkerError).defaultMessage;
    return {
      errorType: error.errorType,
      retryable: error.retryable,
      safeMessage: sanitize(message) || fallback,
      errorMessage,
    };
  }
  if (name === "AbortError") {
    return { errorType: "canceled", retryable: false, safeMessage: "canceled", errorMessage };
  }
  if (OUT_OF_MEMORY.test(name) || OUT_OF_MEMORY.test(message)) {
    return { errorType: "resource", retryable: false, safeMessage: "out of memory", errorMessage };
  }
  return { errorType: "internal", retryable: false, safeMessage: "internal error", errorMessage };
}

const REDACTIONS: [RegExp, string][] = [
  [/\bBearer\s+[^\s,;"']+/gi, "Bearer <redacted>"],
  [/\bhttps?:\/\/[^\s"'<>]+/gi, "<url>"],
  [/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, "<redacted>"],
  [/\b(hf|sk|ghp|gho|github_pat|xox[abp])_[A-Za-z0-9_]{8,}/g, "<redacted>"],
  [
    /\b(token|api[_-]?key|secret|password|passwd|authorization)(["']?\s*[:=]\s*["']?)[^\s,;"'&]+/gi,
    "$1$2<redacted>",
  ],
  // Absolute paths say where things live on the worker; refs (owner/repo) and run paths are relative.
  [/(^|[\s("'=])\/(?:[\w.-]+\/)*[\w.-]+/g, "$1<path>"],
];

/**
 * Makes a message safe to show to an end user: credentials, URLs and absolute paths are
 * redacted, while model refs (`hf:owner/repo`) and run paths (`runs/<id>/outputs/x.png`) stay
 * readable. Cut to 500 characters.
 */
export function sanitize(message: string): string {
  let text = message;
  for (const [pattern, replacement] of REDACTIONS) text = text.replace(pattern, replacement);
  text = text.trim();
  return text.length > MAX_SAFE_MESSAGE ? `${text.slice(0, MAX_SAFE_MESSAGE - 1)}…` : text;
}
