import { createParser } from "eventsource-parser";
import { request } from "undici";

/** The dev runner's answer to a run (reference-behaviour 19). */
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

export interface InvokeRequest {
  baseUrl: string;
  endpoint: string;
  body: unknown;
  /** Called for each event as it happens (server-sent events). */
  onEvent(type: string, payload: Record<string, unknown>): void;
}

export class RunnerUnreachableError extends Error {}

/**
 * Runs an endpoint on a dev runner with server-sent events, so progress and deltas arrive live.
 * Resolves with the final response; errors that are not a run's (404, 400) come back as
 * `{status, error}`.
 */
export async function invokeDevRunner(
  invocation: InvokeRequest,
): Promise<{ status: number; response?: RunResponse; error?: { error: string; message?: string } }> {
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
    return {
      status: res.statusCode,
      error: (json as { error: string; message?: string }) ?? { error: text },
    };
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

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
