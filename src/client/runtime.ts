/**
 * The runtime of gen-worker's typed client: calls a dev runner (`cozy-worker run --local` or
 * `run --image`) over HTTP with server-sent events. It imports nothing and uses only what
 * browsers and Node.js 18+ share (fetch, AbortController, TextDecoder, crypto.randomUUID), because
 * `cozy-worker client` copies this file, as it is, into the clients it generates.
 */

/** A failed run's `error_type` (the Cozy scheduler's values). */
export type ErrorType = "validation" | "retryable" | "resource" | "fatal" | "auth" | "canceled" | "internal";

/** A file on the wire: send `{ref}` (a file API ref or an http(s) URL); outputs carry the rest. */
export interface AssetRef {
  ref: string;
  owner?: string | null;
  local_path?: string | null;
  mime_type?: string | null;
  size_bytes?: number | null;
  sha256?: string | null;
}

/** The names of the endpoints that give a single result (`Extract` makes errors list them). */
export type SingleEndpoint<E> = Extract<
  { [K in keyof E]: E[K] extends { result: unknown } ? K : never }[keyof E],
  string
>;

/** The names of the endpoints that stream deltas. */
export type StreamEndpoint<E> = Extract<
  { [K in keyof E]: E[K] extends { delta: unknown } ? K : never }[keyof E],
  string
>;

export interface ClientOptions {
  /** The runner, e.g. `http://127.0.0.1:8081`. */
  url: string;
  /** Headers sent with every request (say, for a proxy in front of the runner). */
  headers?: Record<string, string>;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** `ctx.progress(fraction, stage)` of the handler. */
export interface Progress {
  fraction: number;
  stage?: string;
}

/** An event of the run, as the runner sends it: `job.progress`, `job.log`, `output.delta`, custom ones. */
export interface RunEvent {
  type: string;
  payload: Record<string, unknown>;
}

export interface RunOptions {
  /** The run's id (default: a new UUID). */
  runId?: string;
  /** The runner cancels the run after this many milliseconds. */
  timeoutMs?: number;
  /** Aborting it cancels the run on the runner; the call then rejects with a {@link CanceledRunError}. */
  signal?: AbortSignal;
  /** Called for each `ctx.progress(...)` of the handler. */
  onProgress?: (progress: Progress) => void;
  /** Called for every event of the run as it happens, progress and deltas included. */
  onEvent?: (event: RunEvent) => void;
}

/** The payload of endpoint `K` of `E`. */
export type PayloadOf<E, K extends keyof E> = E[K] extends { payload: infer P } ? P : never;

export interface Client<E> {
  /** Runs a single-output endpoint and resolves with its result; a failed run rejects with a {@link RunError}. */
  run<K extends SingleEndpoint<E>>(
    endpoint: K,
    payload: PayloadOf<E, K>,
    options?: RunOptions,
  ): Promise<E[K] extends { result: infer R } ? R : never>;
  /**
   * Runs a streaming endpoint: its deltas as they come. The run starts when iteration does; a
   * failed run throws a {@link RunError} from the loop, and leaving the loop early cancels the run.
   */
  stream<K extends StreamEndpoint<E>>(
    endpoint: K,
    payload: PayloadOf<E, K>,
    options?: RunOptions,
  ): AsyncIterable<E[K] extends { delta: infer D } ? D : never>;
}

/** The runner's answer to a run (the `result` event). */
interface RunBody {
  run_id: string;
  success: boolean;
  output: unknown;
  error_type: ErrorType | "";
  safe_message: string;
  error_message: string;
}

/** A run that failed: the handler threw, the input was invalid, the run was canceled or refused. */
export class RunError extends Error {
  readonly errorType: ErrorType;
  readonly retryable: boolean;
  /** The message fit for end users. */
  readonly safeMessage: string;
  /** The full message, for the developer (`<ErrorClass>: <message>`). */
  readonly errorMessage: string;
  readonly runId: string;
  readonly endpoint: string;

  constructor(endpoint: string, body: RunBody) {
    const errorType = body.error_type || "internal";
    super(`${endpoint} failed (${errorType}): ${body.safe_message || body.error_message}`);
    this.name = new.target.name;
    this.errorType = errorType;
    this.retryable = errorType === "retryable";
    this.safeMessage = body.safe_message;
    this.errorMessage = body.error_message;
    this.runId = body.run_id;
    this.endpoint = endpoint;
  }
}

/** The input is wrong: change it (the message says how). */
export class ValidationRunError extends RunError {
  declare readonly errorType: "validation";
}
/** A passing failure, or the runner was busy: try again. */
export class RetryableRunError extends RunError {
  declare readonly errorType: "retryable";
}
/** The worker ran out of memory, disk or device. */
export class ResourceRunError extends RunError {
  declare readonly errorType: "resource";
}
/** The run can never succeed on this worker. */
export class FatalRunError extends RunError {
  declare readonly errorType: "fatal";
}
/** A credential was missing, wrong or expired. */
export class AuthRunError extends RunError {
  declare readonly errorType: "auth";
}
/** Canceled: by the signal, the run's timeout or the runner. */
export class CanceledRunError extends RunError {
  declare readonly errorType: "canceled";
}
/** The handler threw something that is not a gen-worker error. */
export class InternalRunError extends RunError {
  declare readonly errorType: "internal";
}

const ERROR_CLASSES: Record<ErrorType, new (endpoint: string, body: RunBody) => RunError> = {
  validation: ValidationRunError,
  retryable: RetryableRunError,
  resource: ResourceRunError,
  fatal: FatalRunError,
  auth: AuthRunError,
  canceled: CanceledRunError,
  internal: InternalRunError,
};

/** The run's error as the class of its `error_type`. */
function runError(endpoint: string, body: RunBody): RunError {
  const errorClass = ERROR_CLASSES[body.error_type || "internal"] ?? InternalRunError;
  return new errorClass(endpoint, body);
}

/** No run took place: no runner answered, it refused the request, or it broke off the stream. */
export class RunnerError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when the runner answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = "RunnerError";
  }
}

/** A client for the endpoints `E` (`{name: {payload, result} | {payload, delta}}`) of the runner at `options.url`. */
export function createEndpointClient<E>(options: ClientOptions): Client<E> {
  const base = options.url.replace(/\/+$/, "");
  return {
    async run(endpoint, payload, call = {}) {
      const events = exchange(base, options, endpoint, payload, call);
      let next = await events.next();
      while (!next.done) next = await events.next();
      return next.value as never;
    },
    async *stream(endpoint, payload, call = {}) {
      const events = exchange(base, options, endpoint, payload, call);
      try {
        for (let next = await events.next(); !next.done; next = await events.next()) {
          if (next.value.type === "output.delta") yield next.value.payload as never;
        }
      } finally {
        await events.return(undefined);
      }
    },
  };
}

/**
 * One run over server-sent events: yields its events, returns its output, throws its error.
 * Aborting `call.signal` asks the runner to cancel the run; leaving early disconnects, which the
 * runner takes as a cancel too.
 */
async function* exchange(
  base: string,
  options: ClientOptions,
  endpoint: string,
  payload: unknown,
  call: RunOptions,
): AsyncGenerator<RunEvent, unknown, undefined> {
  const runId = call.runId ?? globalThis.crypto.randomUUID();
  const canceledHere = (why: string) =>
    runError(endpoint, {
      run_id: runId,
      success: false,
      output: null,
      error_type: "canceled",
      safe_message: "canceled",
      error_message: `CanceledError: ${why}`,
    });
  if (call.signal?.aborted) throw canceledHere("the signal was aborted before the run started");
  const doFetch = options.fetch ?? globalThis.fetch;
  const connection = new AbortController();
  const cancelOnRunner = () =>
    doFetch(`${base}/v1/runs/${encodeURIComponent(runId)}/cancel`, {
      method: "POST",
      headers: { ...options.headers },
    }).then(
      (response) => response.ok,
      () => false,
    );
  let canceled = false;
  const onAbort = () => {
    canceled = true;
    // A run the runner does not know yet (or any more) ends by hanging up.
    void cancelOnRunner().then((found) => found || connection.abort());
  };
  call.signal?.addEventListener("abort", onAbort, { once: true });
  let done = false;
  try {
    let response: Response;
    try {
      response = await doFetch(`${base}/v1/run/${encodeURIComponent(endpoint)}`, {
        method: "POST",
        headers: { ...options.headers, "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({
          payload,
          run_id: runId,
          ...(call.timeoutMs === undefined ? {} : { timeout_ms: call.timeoutMs }),
        }),
        signal: connection.signal,
      });
    } catch (error) {
      if (canceled) throw canceledHere("the signal was aborted before the runner answered");
      throw new RunnerError(
        `no runner answered at ${base} (${(error as Error).message}): start one with cozy-worker run --local <project-dir>, or run --image <tag>`,
      );
    }
    let body: RunBody | undefined;
    if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      body = await plainAnswer(response, endpoint);
    } else {
      const reader = response.body?.getReader();
      const decoder = new TextDecoder();
      const parse = eventStreamParser();
      while (reader && !body) {
        const chunk = await reader.read().catch((error: Error) => {
          throw canceled
            ? canceledHere("the signal was aborted and the runner no longer had the run")
            : new RunnerError(`the runner at ${base} broke off the stream: ${error.message}`);
        });
        if (chunk.done) break;
        for (const message of parse(decoder.decode(chunk.value, { stream: true }))) {
          const data = JSON.parse(message.data) as RunBody & { payload?: Record<string, unknown> };
          if (message.event === "result") {
            body = data;
            break;
          }
          const event = { type: message.event, payload: data.payload ?? {} };
          if (event.type === "job.progress" && call.onProgress) {
            const { progress, stage } = event.payload as { progress: number; stage?: string };
            call.onProgress(stage === undefined ? { fraction: progress } : { fraction: progress, stage });
          }
          call.onEvent?.(event);
          yield event;
        }
      }
      if (!body) throw new RunnerError(`the runner at ${base} closed the stream before the run's result`);
    }
    done = true;
    if (!body.success) throw runError(endpoint, body);
    return body.output;
  } finally {
    call.signal?.removeEventListener("abort", onAbort);
    if (!done && !canceled) void cancelOnRunner();
    connection.abort();
  }
}

/** A JSON answer instead of an event stream: a run's body, or the runner's refusal of the request. */
async function plainAnswer(response: Response, endpoint: string): Promise<RunBody> {
  const text = await response.text();
  let json: { run_id?: unknown; error?: string; message?: string } | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (json && typeof json.run_id === "string") return json as RunBody;
  const message = json?.message ?? json?.error ?? (text.slice(0, 200) || response.statusText);
  const fix =
    response.status === 404
      ? ": the client was made from other code than the runner serves; regenerate it, or restart the runner on the current code"
      : "";
  throw new RunnerError(
    `the runner refused ${endpoint} (HTTP ${response.status}): ${message}${fix}`,
    response.status,
  );
}

/** Splits server-sent events (lines ending in `\n` or `\r\n`, as the runner writes them) into messages. */
function eventStreamParser(): (text: string) => { event: string; data: string }[] {
  let pending = "";
  let event = "";
  let data: string[] = [];
  return (text) => {
    const lines = (pending + text).split("\n");
    pending = lines.pop() ?? "";
    const messages: { event: string; data: string }[] = [];
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") {
        if (data.length > 0) messages.push({ event: event || "message", data: data.join("\n") });
        event = "";
        data = [];
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(line[colon + 1] === " " ? colon + 2 : colon + 1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    return messages;
  };
}
