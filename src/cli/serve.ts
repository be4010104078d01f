import type { Command } from "commander";
import { installCrashGuards } from "./crash-guards.js";
import { ExitCode, type Output } from "./output.js";

interface ServeCliOptions {
  manifest?: string;
}

export function registerServe(program: Command, out: Output): void {
  program
    .command("serve")
    .description("run the production worker: connect to the Cozy scheduler and execute its tasks")
    .argument("[dir]", "the project folder (in the image: /app)", "/app")
    .option("--manifest <path>", "the manifest to serve (default: <dir>/.cozy/manifest.json)")
    .addHelpText(
      "after",
      `
Configuration comes from the environment: SCHEDULER_ADDR (host:port, grpc:// or grpcs://),
SCHEDULER_ADDRS, WORKER_JWT (required), SCHEDULER_JWKS_URL with SCHEDULER_JWT_ISSUER and
SCHEDULER_JWT_AUDIENCE (optional start-up check of the token), RECONNECT_DELAY,
RECONNECT_MAX_DELAY, RECONNECT_JITTER_SECONDS, MAX_RECONNECT_ATTEMPTS,
WORKER_DRAIN_TIMEOUT_SECONDS and the WORKER_MAX_* limits (see the README). COZY_MANIFEST_PATH
names a cozy.toml whose gen_worker range the installed gen-worker must satisfy (exit 2 otherwise).
Logs are JSON lines on stderr (LOG_LEVEL=debug for more). SIGTERM drains: runs in flight finish and
their results are delivered within WORKER_DRAIN_TIMEOUT_SECONDS; exit 0, or 1 naming the results that
were not delivered.

Examples:
  $ cozy-worker serve                                   in the image (the ENTRYPOINT)
  $ SCHEDULER_ADDR=127.0.0.1:8080 WORKER_JWT=dev cozy-worker serve examples/hello
  $ cozy-worker invoke hello name=world --scheduler --listen 127.0.0.1:8080   (in another terminal)`,
    )
    .action(async (dir: string, options: ServeCliOptions) => {
      const [{ prepareWorker }, { createLogger }, { workerSettingsFromEnv }, { projectSettingsFromEnv }] =
        await Promise.all([
          import("../adapters/grpc/serve.js"),
          import("../host/logger.js"),
          import("../settings/worker.js"),
          import("../settings/project.js"),
        ]);
      const settings = workerSettingsFromEnv();
      const { cozyTomlPath } = projectSettingsFromEnv();
      const log = createLogger(settings.host.logLevel);
      installCrashGuards(out);
      const worker = await prepareWorker({
        dir,
        ...(options.manifest ? { manifestPath: options.manifest } : {}),
        ...(cozyTomlPath === undefined ? {} : { cozyTomlPath }),
        settings,
        log,
      });
      let stopping: Promise<string[]> | undefined;
      const stop = () => {
        stopping ??= worker.shutdown();
      };
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
      try {
        await worker.run();
        const undelivered = (await stopping) ?? [];
        // The worker logged which results the scheduler may not have: an orchestrator sees a failure.
        process.exitCode = undelivered.length > 0 ? ExitCode.Failure : ExitCode.Success;
      } finally {
        process.off("SIGTERM", stop);
        process.off("SIGINT", stop);
      }
    });
}
