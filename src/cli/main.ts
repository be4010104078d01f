import { Command } from "commander";
import { GEN_WORKER_VERSION } from "../host/package.js";
import { cliSettingsFromEnv } from "../settings/cli.js";
import { registerBuild } from "./build.js";
import { registerClient } from "./client.js";
import { registerDiff } from "./diff.js";
import { registerDiscover } from "./discover.js";
import { reportFailure } from "./failures.js";
import { registerInit } from "./init.js";
import { registerInvoke } from "./invoke.js";
import { registerModels } from "./models.js";
import { terminalOutput } from "./output.js";
import { registerRun } from "./run.js";
import { registerServe } from "./serve.js";
import { registerTest } from "./test.js";

export async function main(argv: string[]): Promise<void> {
  const settings = cliSettingsFromEnv();
  const out = terminalOutput(settings.noColor);
  const program = new Command("cozy-worker")
    .description("Build, run and serve Cozy inference endpoints written as TypeScript handlers.")
    .version(GEN_WORKER_VERSION, "-v, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  program.addHelpText(
    "after",
    `
Examples:
  $ cozy-worker discover examples/hello            print the manifest of a project
  $ cozy-worker run --local examples/hello --watch serve it over HTTP for development
  $ cozy-worker invoke hello name=world            call an endpoint of the running dev runner
  $ cozy-worker build examples/hello -t hello:dev  build the worker image (Docker)
  $ cozy-worker run --image hello:dev              the dev runner inside that image
  $ SCHEDULER_ADDR=127.0.0.1:8080 WORKER_JWT=dev cozy-worker serve examples/hello
                                                   run the production worker against a scheduler`,
  );
  registerInit(program, out, settings);
  registerDiscover(program, out);
  registerDiff(program, out, settings);
  registerBuild(program, out, settings);
  registerRun(program, out, settings);
  registerInvoke(program, out, settings);
  registerClient(program, out, settings);
  registerServe(program, out);
  registerModels(program, out);
  registerTest(program, out);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = reportFailure(error, out);
  }
}
