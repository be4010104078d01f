import type { IncomingMessage, ServerResponse } from "node:http";

/** The largest run envelope the runner reads (the Python SDK's limit). */
export const RUN_BODY_LIMIT = 256 * 1024 * 1024;

/**
 * Reads a request body of at most `limit` bytes. Answers 413 and returns undefined when it is
 * larger, and returns undefined without answering when the client hung up.
 */
export function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
): Promise<Buffer | undefined> {
  const tooLarge = () =>
    sendJson(res, 413, { error: "body_too_large", message: `request bodies are limited to ${limit} bytes` });
  if (Number(req.headers["content-length"] ?? 0) > limit) {
    tooLarge();
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (body: Buffer | undefined) => {
      settled = true;
      resolve(body);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off("data", onData).resume();
      tooLarge();
      settle(undefined);
    };
    req.on("data", onData);
    req.once("end", () => {
      if (!settled) settle(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    // A client that hangs up in the middle of its body is nobody's error: nothing to answer, nothing to log.
    const gone = () => {
      if (settled || req.complete) return;
      chunks.length = 0;
      res.destroy();
      settle(undefined);
    };
    req.on("error", gone);
    req.once("close", gone);
  });
}

export function methodNotAllowed(res: ServerResponse, allowed: string): void {
  res.setHeader("Allow", allowed);
  sendJson(res, 405, { error: "method_not_allowed", message: `use ${allowed}` });
}

export function sendUnknownFunction(
  res: ServerResponse,
  endpoint: string,
  functionNames: readonly string[],
): void {
  sendJson(res, 404, {
    error: "unknown_function",
    message: `unknown function '${endpoint}': this project has ${functionNames.join(", ") || "no functions"}`,
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonText(res, status, JSON.stringify(body));
}

/** Sends JSON text as it is; once headers went out (an event stream), only ends the response. */
export function sendJsonText(res: ServerResponse, status: number, json: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}
