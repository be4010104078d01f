import type { ErrorType } from "./errors.js";

/** One task, whatever transport brought it. */
export interface TaskRequest {
  runId: string;
  /** The function's name or its endpoint slug. */
  functionName: string;
  /** The decoded payload; the executor owns it from here (validation fills in defaults). */
  payload: unknown;
  /** Size of the payload as received, for `WORKER_MAX_INPUT_BYTES`. */
  payloadBytes: number;
  timeoutMs?: number;
  owner?: string;
  userId?: string;
  /** The Cozy file API for this run's input and output files, and its per-run token. */
  fileBaseUrl?: string;
  fileToken?: string;
  /** Canonical refs of the models the scheduler says this run needs. */
  requiredModels?: readonly string[];
}

/** Why a task was refused before it ran. */
export type Rejection = "unknown_function" | "too_large" | "draining" | "busy" | "duplicate";

/** How a failed run is reported: `(error_type, retryable, safe_message, error_message)`. */
export interface RunFailure {
  errorType: ErrorType;
  retryable: boolean;
  /** Shown to end users: sanitized, at most 500 characters. */
  safeMessage: string;
  /** For operators: `<ErrorClass>: <message>`, not sanitized. */
  errorMessage: string;
}

export interface RunResult {
  runId: string;
  /** The manifest name of the function, when it was found. */
  functionName: string;
  success: boolean;
  /** The single output as JSON data; null for streams and failures. */
  output: unknown;
  /** The output in the adapter's wire encoding, when the executor was given an encoder. */
  encodedOutput?: Uint8Array;
  errorType: ErrorType | "";
  retryable: boolean;
  safeMessage: string;
  errorMessage: string;
  rejected?: Rejection;
  /** The run was canceled because its `timeout_ms` passed. */
  timedOut: boolean;
  totalMs: number;
}
