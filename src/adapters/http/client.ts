import { createParser } from "eventsource-parser";
import { request } from "undici";
import { UserError } from "../../contract/user-errors.js";

/** The dev runner's answer to a run. */
export interface RunResponse {
  run_id: string;
  success: boolean;
  output: unknown;
  error_type: string;
  safe_message: string;
  error_message: string;
  events: { run_id: string; event_type: string; payload: Record<string, unknown> }[];
  timing_ms: { total_ms: number };
}

/** One function as `GET /v1/functions` describes it. */
export interface FunctionDescription {
  name: string;
  endpoint: string;
  description: string | null;
  streaming: boolean;
  input_schema: Record<string, unknown>;
  /** The output's schema, or each delta's when `streaming`. */
  output_schema: Record<string, unknown>;
}

export interface InvokeRequest {
  baseUrl: string;
  endpoint: string;
  body: unknown;
  /** Called for each event as it happens (server-sent events). */
  onEvent(type: string, payload: Record<string, unknown>): void;
}

/** No dev runner answered, or it broke off; exit 2, since the command was pointed at the wrong place. */
export class RunnerUnreachableError extends UserError {
  constructor(message: string) {
    super(`${message}\n  start one with: cozy-worker run --local <project-dir>`, { exitCode: 2 });
  }
}

/** The runner refused the request itself (an unknown endpoint is 404, exit 2; anything else exit 1). */
export class RunnerRequestError extends UserError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(`${message} (HTTP ${status})`, { exitCode: status === 404 ? 2 : 1 });
  }
}

/**
 * Runs an endpoint on a dev runner with server-sent events, so progress and deltas arrive live.
 * Resolves with the run's response, failed runs included; a request the runner refuses (404, 400)
 * is a {@link RunnerRequestError}.
 */
export async function invokeDevRunner(
  invocation: InvokeRequest,
): Promise<{ status: number; response: RunResponse }> {
  const url = new URL(`/v1/run/${encodeURIComponent(invocation.endpoint)}`, invocation.baseUrl);
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify(invocation.body),
    });
  } catch (error) {
    throw new RunnerUnreachableError(
      `cannot reach the dev runner at ${invocation.baseUrl}: ${(error as Error).message}`,
    );
  }
  const contentType = String(res.headers["content-type"] ?? "");
  if (!contentType.startsWith("text/event-stream")) {
    const text = await res.body.text();
    const json = parseJson(text);
    if (json && typeof json === "object" && "run_id" in json)
      return { status: res.statusCode, response: json as RunResponse };
    const refusal = json as { error?: string; message?: string } | undefined;
    throw new RunnerRequestError(
      res.statusCode,
      refusal?.message ?? refusal?.error ?? (text || "request failed"),
    );
  }
  let response: RunResponse | undefined;
  const parser = createParser({
    onEvent(event) {
      const data = parseJson(event.data) as Record<string, unknown> | undefined;
      if (!data) return;
      if (event.event === "result") response = data as unknown as RunResponse;
      else invocation.onEvent(event.event ?? "message", (data.payload ?? {}) as Record<string, unknown>);
    },
  });
  for await (const chunk of res.body) parser.feed((chunk as Buffer).toString("utf8"));
  if (!response)
    throw new RunnerUnreachableError("the dev runner closed the stream before sending the result");
  return { status: response.success ? 200 : res.statusCode, response };
}

/**
 * The runner's functions and their schemas (`GET /v1/functions`); undefined from a runner that
 * does not serve that route (one of an older gen-worker).
 */
export async function describeDevRunnerFunctions(
  baseUrl: string,
): Promise<FunctionDescription[] | undefined> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(new URL("/v1/functions", baseUrl), { method: "GET" });
  } catch (error) {
    throw new RunnerUnreachableError(
      `cannot reach the dev runner at ${baseUrl}: ${(error as Error).message}`,
    );
  }
  const text = await res.body.text();
  if (res.statusCode === 404) return undefined;
  const json = parseJson(text) as { functions?: FunctionDescription[]; message?: string } | undefined;
  if (res.statusCode !== 200 || !Array.isArray(json?.functions)) {
    throw new RunnerRequestError(res.statusCode, json?.message ?? `GET /v1/functions answered: ${text}`);
  }
  return json.functions;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
