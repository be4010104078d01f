import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { CliSettings } from "../settings/cli.js";
import { devRunnerFields, type EndpointFields, fieldWarnings, projectFields } from "./endpoint-fields.js";
import { printEvent, printResult } from "./invoke-output.js";
import { invokeDevRunnerRealtime, type StdinFrames, stdinFrames } from "./invoke-realtime.js";
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
  scheduler?: boolean;
  listen?: string;
  waitS?: string;
  resultTimeoutS?: string;
  owner?: string;
  userId?: string;
  requiredModel?: string[];
  fileBaseUrl?: string;
  fileToken?: string;
  serveFilesDir?: string;
  serveFilesListen?: string;
  printEvents?: boolean;
  printRegistrations?: boolean;
  project?: string;
  realtime?: boolean;
  binary?: boolean;
  frameBytes?: string;
  lingerS?: string;
}

/** Options that only mean something with --realtime, and their flags. */
const REALTIME_ONLY_OPTIONS = {
  binary: "--binary",
  frameBytes: "--frame-bytes",
  lingerS: "--linger-s",
} as const satisfies Partial<Record<keyof InvokeOptions, string>>;

/** Options of --scheduler that a realtime session on the dev runner takes too. */
const REALTIME_DEV_RUNNER_OPTIONS = new Set<keyof InvokeOptions>(["owner", "userId", "requiredModel"]);

/** Options that only mean something with --scheduler, and their flags. */
const SCHEDULER_ONLY_OPTIONS = {
  listen: "--listen",
  waitS: "--wait-s",
  resultTimeoutS: "--result-timeout-s",
  owner: "--owner",
  userId: "--user-id",
  requiredModel: "--required-model",
  fileBaseUrl: "--file-base-url",
  fileToken: "--file-token",
  serveFilesDir: "--serve-files-dir",
  serveFilesListen: "--serve-files-listen",
  printEvents: "--print-events",
  printRegistrations: "--print-registrations",
  project: "--project",
} as const satisfies Partial<Record<keyof InvokeOptions, string>>;

export function registerInvoke(program: Command, out: Output, settings: CliSettings): void {
  program
    .command("invoke")
    .description("run an endpoint on a dev runner, or on a worker through a one-shot scheduler (--scheduler)")
    .argument("<endpoint>", "endpoint or function name, e.g. hello")
    .argument(
      "[fields...]",
      "payload fields: key=value (typed by the endpoint's schema), key:=<json>, key@<file> (the file's text)",
    )
    .option("--url <url>", "the dev runner", settings.runnerUrl)
    .option("--payload-json <json>", "the payload as JSON")
    .option("-f, --file <file>", "read the payload from a JSON file")
    .option("--timeout-ms <ms>", "cancel the run after this long")
    .option("--run-id <id>", "the run id (default: a new UUID)")
    .option("--json", "print the runner's whole response as JSON")
    .option(
      "--scheduler",
      "act as the Cozy scheduler: wait for a worker (cozy-worker serve) and send it the run",
    )
    .option("--listen <host:port>", "with --scheduler: where the scheduler listens (default: 0.0.0.0:8080)")
    .option("--wait-s <seconds>", "with --scheduler: how long to wait for a worker (default: 30)")
    .option(
      "--result-timeout-s <seconds>",
      "with --scheduler: how long to wait for the result once sent (default: max(5, --wait-s))",
    )
    .option("--owner <owner>", "with --scheduler: the run's owner")
    .option("--user-id <id>", "with --scheduler: the run's user id")
    .option(
      "--required-model <ref>",
      "with --scheduler: a model ref the run requires (repeatable)",
      (ref: string, refs: string[] | undefined) => [...(refs ?? []), ref],
    )
    .option("--file-base-url <url>", "with --scheduler: the file API the worker saves and reads files with")
    .option(
      "--file-token <token>",
      "with --scheduler: the file API token (--serve-files-dir then requires it)",
    )
    .option("--serve-files-dir <dir>", "with --scheduler: serve this folder as a dev file API")
    .option(
      "--serve-files-listen <host:port>",
      `with --scheduler: where the file API listens (default: ${settings.serveFilesListen})`,
    )
    .option("--print-events", "with --scheduler: print every worker event (output deltas are always printed)")
    .option("--print-registrations", "with --scheduler: print the worker's registrations and heartbeats")
    .option(
      "--project <dir>",
      "with --scheduler: the project whose manifest types the fields (default: this folder, if it has cozy.toml)",
    )
    .option(
      "--realtime",
      "open a realtime session instead of a run: stdin lines go out as text frames, the worker's frames are printed",
    )
    .option("--binary", "with --realtime: send stdin's bytes as binary frames instead of lines")
    .option("--frame-bytes <n>", "with --realtime --binary: bytes per frame (default: 4096)")
    .option(
      "--linger-s <seconds>",
      "with --realtime: once stdin has ended, how long to wait for the worker to end the session before closing it (default: 2)",
    )
    .addHelpText(
      "after",
      `
Fields follow the endpoint's schema (the dev runner lists it at GET /v1/functions; with
--scheduler it comes from the project's manifest). key=value is a number, true/false or null
where the field takes that and no string (times=3 sends 3; name=3 sends "3"); for an Asset field
it is the file's ref (audio=hello.wav sends {"ref": "hello.wav"}: a file in the folder the runner
serves with --files, or an http(s) URL). key:=<json> sends JSON as written, key@<file> the file's
text. A field the endpoint does not declare is sent anyway, with a warning naming the closest one.

Deltas of a streaming endpoint go to stdout as JSON lines; progress and logs to stderr; the
output of a single-output endpoint to stdout as JSON. Exit codes: 0 success, 1 the run failed,
2 usage or connection error.

With --scheduler, invoke stands in for the Cozy scheduler: it listens for one worker (start it with
SCHEDULER_ADDR pointing at --listen), sends it one run and prints the transcript: [connected],
[sent], [event], [output] on stdout, [error] on stderr. Exit codes there: 0 success, 1 the run
failed, 2 no worker within --wait-s (or a usage error), 3 no result within --result-timeout-s.
--serve-files-dir also serves that folder as the file API and, without --file-base-url, passes the
worker file_base_url=http://<host>:<port> of --serve-files-listen, with 127.0.0.1 for 0.0.0.0 (a
worker on this machine); give --file-base-url when the worker runs elsewhere (e.g. in Docker:
http://host.docker.internal:${settings.serveFilesListen.split(":")[1]}).

With --realtime, invoke opens a realtime session of the endpoint (a handler taking
socket: RealtimeSocket) on the dev runner's WebSocket, or with --scheduler through a
realtime_open_cmd. Each stdin line is sent as a text frame (with --binary, stdin's bytes in binary
frames of --frame-bytes); the worker's frames go to stdout, text as a line, binary as
<N bytes> <base64>. Once stdin ends, the session is closed after --linger-s unless the worker
closes it first. Exit codes: 0 when it closed normally (completed or closed), 1 otherwise.
--required-model (repeatable, in the handler's parameter order) binds its models.

Examples:
  $ cozy-worker invoke hello name=world times=2
  $ cozy-worker invoke hello name=world times:=2
  $ cozy-worker invoke words text="one two three"
  $ cozy-worker invoke words text@notes.txt
  $ cozy-worker invoke detectSpeech audio=hello.wav threshold=0.6
      (the runner started with: cozy-worker run --local examples/vad --files examples/vad/samples)
  $ cozy-worker invoke detectSpeech audio:='{"ref": "hello.wav"}'
  $ cozy-worker invoke hello --payload-json '{"name": "world"}' --url http://127.0.0.1:9000
  $ cozy-worker invoke detect -f request.json
  $ cozy-worker invoke hello --scheduler --listen 127.0.0.1:8080 name=world
      (then, in another terminal: SCHEDULER_ADDR=127.0.0.1:8080 WORKER_JWT=dev cozy-worker serve examples/hello)
  $ cozy-worker invoke words --scheduler --print-events --wait-s 60 text="one two three"
  $ cozy-worker invoke detectSpeech --scheduler --project examples/vad audio=hello.wav
  $ cozy-worker invoke make_image --scheduler --serve-files-dir ./files --file-token dev prompt="a cat"
  $ printf 'one\ntwo\n' | cozy-worker invoke echo --realtime
  $ cozy-worker invoke streamSpeech --realtime --binary --linger-s 10 < samples/hello.wav
  $ cozy-worker invoke streamSpeech --realtime --binary --scheduler --required-model vad < samples/hello.wav`,
    )
    .action(async (endpoint: string, tokens: string[], options: InvokeOptions, command: Command) => {
      checkFlags(options, command);
      if (options.scheduler) options.serveFilesListen ??= settings.serveFilesListen;
      if (options.realtime) {
        checkRealtimeFlags(tokens, options);
        await invokeRealtime(endpoint, options, out);
        return;
      }
      const base = await basePayload(options);
      const known = await endpointFields(endpoint, tokens, options);
      const payload = await payloadFromTokens(tokens, base, known.fields);
      for (const warning of fieldWarnings(endpoint, known, tokens, payload)) out.warn(warning);
      if (options.scheduler) {
        await invokeThroughScheduler(endpoint, payload, options);
        return;
      }
      const body: Record<string, unknown> = { payload };
      if (options.timeoutMs !== undefined)
        body.timeout_ms = positiveNumber("--timeout-ms", options.timeoutMs);
      if (options.runId !== undefined) body.run_id = options.runId;
      if (!isEnvelopePayload(payload)) {
        throw new UsageError(
          "the payload must be a JSON object (the dev runner wraps only objects and arrays)",
        );
      }
      const { invokeDevRunner } = await import("../adapters/http/client.js");
      const result = await invokeDevRunner({
        baseUrl: options.url,
        endpoint,
        body,
        onEvent: (type, event) => printEvent(type, event, out),
      });
      printResult(result.response, options.json === true, out);
      process.exitCode = result.response.success ? ExitCode.Success : ExitCode.Failure;
    });
}

/** Flags that cannot go together, refused before anything is read or asked. */
function checkFlags(options: InvokeOptions, command: Command): void {
  if (!options.realtime) {
    const realtimeOnly = Object.entries(REALTIME_ONLY_OPTIONS)
      .filter(([key]) => options[key as keyof InvokeOptions] !== undefined)
      .map(([, flag]) => flag);
    if (realtimeOnly.length > 0) {
      throw new UsageError(
        `${realtimeOnly.join(", ")} only work${realtimeOnly.length === 1 ? "s" : ""} with --realtime`,
      );
    }
  }
  if (options.scheduler) {
    if (command.getOptionValueSource("url") === "cli") {
      throw new UsageError(
        "--url names a dev runner; with --scheduler the worker connects to --listen instead",
      );
    }
    if (options.json) throw new UsageError("--json works with the dev runner only, not with --scheduler");
    return;
  }
  const schedulerOnly = Object.entries(SCHEDULER_ONLY_OPTIONS)
    .filter(([key]) => options[key as keyof InvokeOptions] !== undefined)
    .filter(([key]) => !(options.realtime && REALTIME_DEV_RUNNER_OPTIONS.has(key as keyof InvokeOptions)))
    .map(([, flag]) => flag);
  if (schedulerOnly.length > 0) {
    throw new UsageError(
      `${schedulerOnly.join(", ")} only work${schedulerOnly.length === 1 ? "s" : ""} with --scheduler`,
    );
  }
}

/** A realtime session has no payload: its input is stdin. */
function checkRealtimeFlags(tokens: string[], options: InvokeOptions): void {
  if (tokens.length > 0 || options.payloadJson !== undefined || options.file !== undefined) {
    throw new UsageError(
      "a realtime session takes no payload (key=value fields, --payload-json, -f): send its input on stdin",
    );
  }
  if (options.json)
    throw new UsageError("--json does not work with --realtime: frames are printed as they come");
  if (options.frameBytes !== undefined && !options.binary) {
    throw new UsageError("--frame-bytes only works with --binary (text frames are one per line)");
  }
}

/** `invoke --realtime`: on the dev runner's WebSocket, or through the one-shot scheduler. */
async function invokeRealtime(endpoint: string, options: InvokeOptions, out: Output): Promise<void> {
  const frameBytes =
    options.frameBytes === undefined ? 4096 : wholeNumber("--frame-bytes", options.frameBytes);
  const lingerMs = options.lingerS === undefined ? 2000 : nonNegativeSeconds("--linger-s", options.lingerS);
  const input = stdinFrames(options.binary === true, frameBytes);
  if (options.scheduler) {
    try {
      await invokeThroughScheduler(endpoint, {}, options, { input: input.frames, lingerMs });
    } finally {
      input.stop();
    }
    return;
  }
  await runInterruptible((signal) =>
    invokeDevRunnerRealtime(
      {
        url: options.url,
        endpoint,
        input,
        lingerMs,
        requiredModels: options.requiredModel ?? [],
        signal,
        ...(options.runId === undefined ? {} : { sessionId: options.runId }),
        ...(options.timeoutMs === undefined
          ? {}
          : { timeoutMs: Math.ceil(positiveNumber("--timeout-ms", options.timeoutMs)) }),
        ...(options.owner === undefined ? {} : { owner: options.owner }),
        ...(options.userId === undefined ? {} : { userId: options.userId }),
      },
      out,
    ),
  );
}

/** Runs `run` with a signal that SIGINT or SIGTERM aborts; its result is the exit code. */
async function runInterruptible(run: (signal: AbortSignal) => Promise<number>): Promise<void> {
  const interrupt = new AbortController();
  const onInterrupt = () => interrupt.abort();
  process.once("SIGINT", onInterrupt);
  process.once("SIGTERM", onInterrupt);
  try {
    process.exitCode = await run(interrupt.signal);
  } finally {
    process.off("SIGINT", onInterrupt);
    process.off("SIGTERM", onInterrupt);
  }
}

/**
 * The endpoint's fields: the dev runner lists them; with --scheduler the project's manifest has
 * them, read (by discovery, which takes seconds) only when there are fields to type or a project.
 */
function endpointFields(endpoint: string, tokens: string[], options: InvokeOptions): Promise<EndpointFields> {
  if (!options.scheduler) return devRunnerFields(options.url, endpoint);
  if (tokens.length === 0 && options.project === undefined) return Promise.resolve({});
  return projectFields(options.project, endpoint);
}

/** `invoke --scheduler`: a one-shot scheduler that waits for a worker and sends it the run. */
async function invokeThroughScheduler(
  endpoint: string,
  payload: unknown,
  options: InvokeOptions,
  realtime?: { input: StdinFrames["frames"]; lingerMs: number },
): Promise<void> {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new UsageError("the payload must be a JSON object (the worker receives it as a msgpack map)");
  }
  const waitS = options.waitS === undefined ? 30 : positiveNumber("--wait-s", options.waitS);
  const { runOneShot } = await import("../dev/one-shot.js");
  await runInterruptible((cancel) =>
    runOneShot({
      cancel,
      functionName: endpoint,
      payload,
      listen: options.listen ?? "0.0.0.0:8080",
      waitS,
      ...(options.resultTimeoutS === undefined
        ? {}
        : { resultTimeoutS: positiveNumber("--result-timeout-s", options.resultTimeoutS) }),
      ...(options.runId === undefined ? {} : { runId: options.runId }),
      ...(options.timeoutMs === undefined
        ? {}
        : { timeoutMs: Math.ceil(positiveNumber("--timeout-ms", options.timeoutMs)) }),
      ...(options.owner === undefined ? {} : { owner: options.owner }),
      ...(options.userId === undefined ? {} : { userId: options.userId }),
      requiredModels: options.requiredModel ?? [],
      ...(options.fileBaseUrl === undefined ? {} : { fileBaseUrl: options.fileBaseUrl }),
      ...(options.fileToken === undefined ? {} : { fileToken: options.fileToken }),
      ...(options.serveFilesDir === undefined ? {} : { serveFilesDir: options.serveFilesDir }),
      ...(options.serveFilesListen === undefined ? {} : { serveFilesListen: options.serveFilesListen }),
      printEvents: options.printEvents === true,
      printRegistrations: options.printRegistrations === true,
      ...(realtime ? { realtime } : {}),
      writer: {
        stdout: (line) => process.stdout.write(`${line}\n`),
        stderr: (line) => process.stderr.write(`${line}\n`),
      },
    }),
  );
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

function wholeNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`${flag} must be a whole number of 1 or more, got "${text}"`);
  return value;
}

function nonNegativeSeconds(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0)
    throw new UsageError(`${flag} must be a number of seconds, 0 or more, got "${text}"`);
  return Math.round(value * 1000);
}

function isEnvelopePayload(payload: unknown): boolean {
  return payload !== null && typeof payload === "object";
}
