import type { RunResponse } from "../adapters/http/client.js";
import type { Output } from "./output.js";

/** One event of a run as it happens: deltas to stdout as JSON lines, progress and logs to stderr. */
export function printEvent(type: string, payload: Record<string, unknown>, out: Output): void {
  if (type === "output.delta") {
    process.stdout.write(`${JSON.stringify(payload)}\n`);
  } else if (type === "job.progress") {
    const percent = Math.round(Number(payload.progress) * 100);
    out.info(`progress ${percent}%${payload.stage ? ` ${payload.stage}` : ""}`);
  } else if (type === "job.log") {
    out.info(`[${payload.level}] ${payload.message}`);
  } else if (!type.startsWith("metrics.") && type !== "output.completed" && type !== "output.error") {
    out.info(`event ${type} ${JSON.stringify(payload)}`);
  }
}

/** The output (or the whole response with `--json`), the files it saved, and a failure in one line. */
export function printResult(response: RunResponse, asJson: boolean, out: Output): void {
  if (asJson) {
    process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
  } else if (response.success && response.output !== null) {
    process.stdout.write(`${JSON.stringify(response.output, null, 2)}\n`);
  }
  for (const path of savedFiles(response.output)) out.info(`saved ${path}`);
  if (!response.success) {
    out.error(`run ${response.run_id} failed (${response.error_type}): ${failureMessage(response)}`);
  }
}

/**
 * The run's own message: `error_message` less its `ValidationError: ` prefix, which the error type
 * already says. It is the developer's own runner, so the message is not redacted like
 * `safe_message`; a bug (`internal`) keeps its class, such as `TypeError: ...`.
 */
function failureMessage(response: RunResponse): string {
  const full = response.error_message.trim();
  const message = response.error_type === "internal" ? full : full.replace(/^[A-Z]\w*Error:\s*/, "");
  return message || response.safe_message;
}

/** Local paths of the files an output references (Assets saved by the run). */
function savedFiles(output: unknown): string[] {
  if (output === null || typeof output !== "object") return [];
  if (Array.isArray(output)) return output.flatMap(savedFiles);
  const record = output as Record<string, unknown>;
  if (typeof record.ref === "string" && typeof record.local_path === "string") return [record.local_path];
  return Object.values(record).flatMap(savedFiles);
}
