import type { Command } from "commander";
import { type CliSettings, shellVariable } from "../settings/cli.js";
import { installCrashGuards } from "./crash-guards.js";
import { ExitCode, type Output } from "./output.js";
import { parseListenAddress, UsageError } from "./usage.js";

interface RunOptions {
  local?: boolean;
  image?: string;
  listen: string;
  outputs: string;
  files?: string;
  env: string[];
  watch?: boolean;
  drainTimeout: string;
}

export function registerRun(program: Command, out: Output, settings: CliSettings): void {
  program
    .command("run")
    .description("serve a project's endpoints over HTTP for development (the dev runner)")
    .argument("[dir]", "project folder holding cozy.toml", ".")
    .option("--local", "run the handlers on this machine, without Docker")
    .option("--image <tag>", "run the dev runner inside this built image (Docker), e.g. my-worker:dev")
    .option("--listen <host:port>", "address to serve on", settings.listen)
    .option("--outputs <dir>", "where saved files go (runs/<run_id>/outputs/...)", settings.outputsDir)
    .option(
      "--files <dir>",
      'serve this folder as the file API: an input Asset {"ref": "a.wav"} reads <dir>/a.wav',
    )
    .option(
      "-e, --env <KEY[=VALUE]>",
      "with --image: a setting for the runner in the container (KEY alone copies this shell's value); repeatable",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("--watch", "reload the handlers when a source file changes")
    .option("--drain-timeout <seconds>", "on Ctrl-C, how long in-flight runs may finish", "10")
    .addHelpText(
      "after",
      `
Routes:
  POST /v1/run/{endpoint}        run (JSON body: the payload, or {"payload": ..., "timeout_ms": ...});
                                 send Accept: text/event-stream for live events
  POST /v1/runs/{run_id}/cancel  cancel a run in flight
  GET  /v1/functions             the endpoints with their input and output schemas
  GET  /v1/status (functions, loaded and cached models), GET /health
  GET  /v1/realtime/{endpoint}   a realtime session over WebSocket (a handler taking socket: RealtimeSocket)
  GET  /v1/models/status; POST /v1/models/load, /v1/models/unload ({"model_id": ref}),
       /v1/models/prefetch ({"models": [refs]}), /v1/warmup/{endpoint} (loads its models, runs nothing)

cozy.toml and handler warnings and the handlers' type errors are printed at start, and with --watch
again when a reload changes them; they do not stop the runner from serving.

Models that handlers inject are downloaded into WORKER_MODEL_CACHE_DIR (default /tmp/cozy/models)
from HF_ENDPOINT (HF_TOKEN for private repos) and loaded on WORKER_ORT_PROVIDERS; see docs/models.md.

Examples:
  $ cozy-worker run --local examples/hello --watch
  $ cozy-worker run --image hello:dev                       (after cozy-worker build -t hello:dev)
  $ cozy-worker invoke hello name=world                    (in another terminal)
  $ cozy-worker run --local examples/vad --files examples/vad/samples
  $ cozy-worker run --image vad:dev --files examples/vad/samples -e HF_ENDPOINT -e HF_TOKEN
  $ cozy-worker invoke detectSpeech audio=hello.wav         (an Asset field: a file under --files)
  $ curl -X POST localhost:8081/v1/run/hello -d '{"name": "world"}'`,
    )
    .action(async (dir: string, options: RunOptions) => {
      if (options.local === (options.image !== undefined)) {
        throw new UsageError(
          "say where to run, one of: --local (the handlers on this machine) or --image TAG (inside a built image)",
        );
      }
      const drainSeconds = Number(options.drainTimeout);
      if (!Number.isFinite(drainSeconds) || drainSeconds < 0) {
        throw new UsageError(`--drain-timeout must be a number of seconds, got "${options.drainTimeout}"`);
      }
      if (options.image !== undefined) {
        await runInImage(options.image, options, drainSeconds, out, settings);
        return;
      }
      if (options.env.length > 0) {
        throw new UsageError(
          "--env only works with --image: with --local the runner has this shell's environment",
        );
      }
      installCrashGuards(out);
      out.info(`loading ${dir} ...`);
      const [{ startLocalRunner }, { devRunnerSettingsFromEnv }] = await Promise.all([
        import("../dev/local-runner.js"),
        import("../settings/dev-runner.js"),
      ]);
      const runner = await startLocalRunner({
        dir,
        listen: parseListenAddress(options.listen),
        outputsDir: options.outputs,
        filesDir: options.files,
        watch: options.watch === true,
        drainTimeoutMs: drainSeconds * 1000,
        settings: devRunnerSettingsFromEnv(),
        log: out,
      });
      out.info(`dev runner on ${runner.url}  (functions: ${runner.functions.join(", ") || "none"})`);
      if (options.files) out.info(`input files from ${options.files} (Asset refs are paths inside it)`);
      out.info(`outputs in ${options.outputs}; press Ctrl-C to stop`);
      await untilSignal();
      out.info("stopping: finishing runs in flight ...");
      await runner.close();
      out.info("stopped");
    });
}

async function runInImage(
  image: string,
  options: RunOptions,
  drainSeconds: number,
  out: Output,
  settings: CliSettings,
): Promise<void> {
  const listen = parseListenAddress(options.listen);
  const env = containerEnv(options.env);
  const [{ connectEngine }, { runImage }] = await Promise.all([
    import("../image/engine.js"),
    import("../image/container.js"),
  ]);
  const container = await runImage(await connectEngine(settings.dockerHost), {
    image,
    listen,
    outputsDir: options.outputs,
    filesDir: options.files,
    env,
    drainTimeoutS: drainSeconds,
    stdout: process.stdout,
    stderr: process.stderr,
  });
  out.info(
    `${image} in container ${container.id.slice(0, 12)} (${container.network} network): dev runner on ${container.url}, outputs in ${options.outputs}; press Ctrl-C to stop`,
  );
  const code = await Promise.race([container.exited, untilSignal().then(() => undefined)]);
  if (code === undefined) out.info("stopping the container: finishing runs in flight ...");
  await container.stop();
  if (code !== undefined) {
    out.error(`the container exited with code ${code} (its output is above)`);
    process.exitCode = ExitCode.Failure;
    return;
  }
  out.info("stopped and removed");
}

/** `KEY=VALUE` as given; a bare `KEY` takes this process's value, and must have one. */
function containerEnv(settings: readonly string[]): string[] {
  return settings.map((setting) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(=|$)/.test(setting))
      throw new UsageError(`--env ${setting}: write KEY=VALUE, or KEY to pass this shell's value`);
    if (setting.includes("=")) return setting;
    const value = shellVariable(setting);
    if (value === undefined) throw new UsageError(`--env ${setting}: ${setting} is not set in this shell`);
    return `${setting}=${value}`;
  });
}

function untilSignal(): Promise<void> {
  return new Promise((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      process.once("SIGINT", () => process.exit(130));
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
