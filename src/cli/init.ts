import type { Command } from "commander";
import { GEN_WORKER_VERSION } from "../host/package.js";
import type { CliSettings } from "../settings/cli.js";
import type { Output } from "./output.js";

interface InitOptions {
  template: string;
  listTemplates?: boolean;
}

/**
 * The gen-worker dependency written into a new project's package.json: `^<this version>`, or
 * GEN_WORKER_INIT_DEPENDENCY (for example `file:/path/to/gen-worker`, to try a local checkout).
 */
function genWorkerDependency(settings: CliSettings): string {
  return settings.initDependency ?? `^${GEN_WORKER_VERSION}`;
}

export function registerInit(program: Command, out: Output, settings: CliSettings): void {
  program
    .command("init")
    .description("create a new project from a template, in a new or empty folder")
    .argument("[dir]", "the folder to create the project in (its name names the project)", ".")
    .option("-t, --template <name>", "the template to start from", "hello")
    .option("--list-templates", "list the templates and exit")
    .addHelpText(
      "after",
      `
Examples:
  $ cozy-worker init my-worker                 a new project in ./my-worker (from the hello template)
  $ cozy-worker init                           ... in this folder, if it is empty
  $ cozy-worker init my-worker --template hello
  $ cozy-worker init --list-templates

init never overwrites anything: a folder that is not empty is refused (exit 1).`,
    )
    .action(async (dir: string, options: InitOptions) => {
      const scaffold = await import("../scaffold/scaffold.js");
      if (options.listTemplates) {
        const templates = await scaffold.listTemplates();
        const width = Math.max(...templates.map((template) => template.name.length));
        const lines = templates.map((template) =>
          `${template.name.padEnd(width)}  ${template.description}`.trimEnd(),
        );
        await out.writeResult(`${lines.join("\n")}\n`);
        return;
      }
      const result = await scaffold.renderTemplate({
        template: options.template,
        targetDir: dir,
        variables: {
          name: scaffold.projectNameFromDir(dir),
          gen_worker_version: GEN_WORKER_VERSION,
          gen_worker_dependency: genWorkerDependency(settings),
        },
      });
      out.info(
        `created ${result.files.length} files in ${result.targetDir} from the ${result.template.name} template`,
      );
      out.info(`\nnext steps:\n${scaffold.nextSteps(result)}`);
    });
}
