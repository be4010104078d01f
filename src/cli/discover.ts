import type { Command } from "commander";
import { formatProblem } from "../contract/problems.js";
import { projectSettingsFromEnv } from "../settings/project.js";
import { prettyJson } from "../util/canonical-json.js";
import type { Output } from "./output.js";

export function registerDiscover(program: Command, out: Output): void {
  program
    .command("discover")
    .description("find the handlers of a project and print its manifest (what `build` bakes into the image)")
    .argument("[dir]", "project folder holding cozy.toml", ".")
    .option("-o, --out <file>", "write the manifest to a file instead of stdout")
    .addHelpText(
      "after",
      `
Examples:
  $ cozy-worker discover                      print the manifest of the project here
  $ cozy-worker discover examples/hello       ... of another folder
  $ cozy-worker discover -o .cozy/manifest.json

COZY_MANIFEST_PATH names a cozy.toml to read instead of <dir>/cozy.toml.
Problems are printed as file:line:col: message, and the exit code is 1.`,
    )
    .action(async (dir: string, options: { out?: string }) => {
      const { discover } = await import("../discovery/discover.js");
      const { manifest, warnings } = await discover(dir, projectSettingsFromEnv());
      for (const warning of warnings) out.warn(formatProblem(warning));
      await out.writeResult(`${prettyJson(manifest)}\n`, options.out);
    });
}
