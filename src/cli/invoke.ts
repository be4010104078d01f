import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { RunResponse } from "../devserver/client.js";
import { ExitCode, type Output } from "./output.js";
import { payloadFromTokens } from "./payload-tokens.js";
import { UsageError } from "./usage.js";

interface InvokeOptions {
  url: string;
  payloadJson?: string;
  file?: string;
  timeoutMs?: string;
  runId?: string;
  json?: boolean;
}

export function registerInvoke(program: Command, out: Output): void {
  program
    .command("invoke")
    .description("run an endpoint on a dev runner and print its events and output")
    .argument("<endpoint>", "endpoint or function name, e.g. hello")
    .argument("[fields...]", "payload fields: key=value (string), key:=<json>, key@<file> (file text)")
    .option("--url <url>", "the dev runner", process.env.GEN_WORKER_URL ?? "http://127.0.0.1:8081")
    .option("--payload-json <json>", "the payload as JSON")
    .option("-f, --file <file>", "read the payload from a JSON file")
    .option("--timeout-ms <ms>", "cancel the run after this long")
    .option("--run-id <id>", "the run id (default: a new UUID)")
    .option("--json", "print the runner's whole response as JSON")
    .addHelpText(
      "after",
      `
Deltas of a streaming endpoint go to stdout as JSON lines; progress and logs to stderr; the
output of a single-output endpoint to stdout as JSON. Exit codes: 0 success, 1 the run failed,
2 usage or connection error.

Examples:
  $ cozy-worker invoke hello name=world times:=2
  $ cozy-worker invoke words text="one two three"
  $ cozy-worker invoke hello --payload-json '{"name": "world"}' --url http://127.0.0.1:9000
  $ cozy-worker invoke detect -f request.json`,
    )
    .action(async (endpoint: string, fields: string[], options: InvokeOptions) => {
      const payload = await payloadFromTokens(fields, await basePayload(options));
      const body: Record<string, unknown> = { payload };
      if (options.timeoutMs !== undefined)
        body.timeout_ms = positiveNumber("--timeout-ms", options.timeoutMs);
      if (options.runId !== undefined) body.run_id = options.runId;
      if (!isEnvelopePayload(payload)) {
        throw new UsageError(
          "the payload must be a JSON object (the dev runner wraps only objects and arrays)",
        );
      }
      const { invokeDevRunner, RunnerUnreachableError } = await import("../devserver/client.js");
      let result: Awaited<ReturnType<typeof invokeDevRunner>>;
      try {
        result = await invokeDevRunner({
          baseUrl: options.url,
          endpoint,
          body,
          onEvent: (type, event) => printEvent(type, event, out),
        });
      } catch (error) {
        if (!(error instanceof RunnerUnreachableError)) throw error;
        out.error(`${error.message}\n  start one with: cozy-worker run --local <project-dir>`);
        process.exitCode = ExitCode.Usage;
        return;
      }
      if (!result.response) {
        out.error(
          `${result.error?.message ?? result.error?.error ?? "request failed"} (HTTP ${result.status})`,
        );
        process.exitCode = result.status === 404 ? ExitCode.Usage : ExitCode.Failure;
        return;
      }
      printResult(result.response, options.json === true, out);
      process.exitCode = result.response.success ? ExitCode.Success : ExitCode.Failure;
    });
}

async function basePayload(options: InvokeOptions): Promise<unknown> {
  if (options.payloadJson !== undefined && options.file !== undefined) {
    throw new UsageError("give the payload with --payload-json or -f, not both");
  }
  if (options.payloadJson !== undefined) return parseJson(options.payloadJson, "--payload-json");
  if (options.file !== undefined) {
    const text = await readFile(options.file, "utf8").catch(() => {
      throw new UsageError(`-f ${options.file}: cannot read that file`);
    });
    return parseJson(text, options.file);
  }
  return {};
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source} is not JSON: ${(error as Error).message}`);
  }
}

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`${flag} must be a positive number, got "${text}"`);
  return value;
}

function isEnvelopePayload(payload: unknown): boolean {
  return payload !== null && typeof payload === "object";
}

function printEvent(type: string, payload: Record<string, unknown>, out: Output): void {
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

function printResult(response: RunResponse, asJson: boolean, out: Output): void {
  if (asJson) {
    process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
  } else if (response.success && response.output !== null) {
    process.stdout.write(`${JSON.stringify(response.output, null, 2)}\n`);
  }
  for (const path of savedFiles(response.output)) out.info(`saved ${path}`);
  if (!response.success) {
    out.error(`run ${response.run_id} failed (${response.error_type}): ${response.safe_message}`);
    if (response.error_message && response.error_message !== response.safe_message) {
      out.error(`  ${response.error_message}`);
    }
  }
}

/** Local paths of the files an output references (Assets saved by the run). */
function savedFiles(output: unknown): string[] {
  if (output === null || typeof output !== "object") return [];
  if (Array.isArray(output)) return output.flatMap(savedFiles);
  const record = output as Record<string, unknown>;
  if (typeof record.ref === "string" && typeof record.local_path === "string") return [record.local_path];
  return Object.values(record).flatMap(savedFiles);
}
