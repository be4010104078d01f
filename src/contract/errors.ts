/** The `error_type` values the Cozy scheduler understands. */
export type ErrorType = "validation" | "retryable" | "resource" | "fatal" | "auth" | "canceled" | "internal";

/** Base class of every error a handler may throw on purpose. */
export class WorkerError extends Error {
  readonly errorType: ErrorType = "internal";
  readonly retryable: boolean = false;
  /** Used as the client-facing message when the error carries none. */
  static readonly defaultMessage: string = "internal error";

  constructor(message?: string, options?: ErrorOptions) {
    super(message ?? "", options);
    this.name = new.target.name;
  }
}

/** The input is wrong; the client must change it. Never retried. */
export class ValidationError extends WorkerError {
  override readonly errorType = "validation";
  static override readonly defaultMessage = "invalid input";
}

/** A passing failure (a busy upstream, a timeout); the scheduler may retry the run. */
export class RetryableError extends WorkerError {
  override readonly errorType = "retryable";
  override readonly retryable = true;
  static override readonly defaultMessage = "retryable error";
}

/** The worker ran out of something (memory, disk, device). */
export class ResourceError extends WorkerError {
  override readonly errorType = "resource";
  static override readonly defaultMessage = "resource exhausted";
}

/** The run can never succeed on this worker. */
export class FatalError extends WorkerError {
  override readonly errorType = "fatal";
  static override readonly defaultMessage = "fatal error";
}

/** A credential was missing, wrong or expired. */
export class AuthError extends WorkerError {
  override readonly errorType = "auth";
  static override readonly defaultMessage = "authentication failed";
}

/** The run was canceled (by the client, the scheduler or its deadline). */
export class CanceledError extends WorkerError {
  override readonly errorType = "canceled";
  static override readonly defaultMessage = "canceled";
}
