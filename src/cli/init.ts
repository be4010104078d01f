import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { GEN_WORKER_VERSION, PACKAGE_ROOT } from "../host/package.js";
import type { GenWorkerSource } from "../scaffold/gen-worker-source.js";
import type { CliSettings } from "../settings/cli.js";
import type { Output } from "./output.js";

interface InitOptions {
  template: string;
  listTemplates?: boolean;
  registry?: boolean;
}

interface ChosenSource {
  source: GenWorkerSource;
  extraFiles: Array<{ target: string; source: string }>;
}

/**
 * Where the project gets gen-worker: `--registry` (`^<version>`), else GEN_WORKER_INIT_DEPENDENCY
 * as given, else the running gen-worker packed into `vendor/`, which installs without the registry.
 */
async function chooseSource(
  settings: CliSettings,
  options: InitOptions,
  staging: string,
): Promise<ChosenSource> {
  if (options.registry) return { source: { kind: "registry" }, extraFiles: [] };
  if (settings.initDependency)
    return { source: { kind: "given", spec: settings.initDependency }, extraFiles: [] };
  const { packPackage } = await import("../scaffold/npm.js");
  const { VENDOR_DIR } = await import("../scaffold/gen-worker-source.js");
  const file = await packPackage(PACKAGE_ROOT, staging);
  const tarball = `${VENDOR_DIR}/${file}`;
  return {
    source: { kind: "vendored", tarball },
    extraFiles: [{ target: tarball, source: join(staging, file) }],
  };
}

export function registerInit(program: Command, out: Output, settings: CliSettings): void {
  program
    .command("init")
    .description("create a new project from a template, in a new or empty folder")
    .argument("[dir]", "the folder to create the project in (its name names the project)", ".")
    .option("-t, --template <name>", "the template to start from", "hello")
    .option(
      "--registry",
      "depend on gen-worker from the npm registry (^version) instead of packing it into vendor/",
    )
    .option("--list-templates", "list the templates and exit")
    .addHelpText(
      "after",
      `
Examples:
  $ cozy-worker init my-worker                 a new project in ./my-worker (from the hello template)
  $ cozy-worker init                           ... in this folder, if it is empty
  $ cozy-worker init my-worker --registry      ... taking gen-worker from the npm registry
  $ cozy-worker init --list-templates

The project gets gen-worker as vendor/gen-worker-<version>.tgz, packed from this cozy-worker, so
npm install needs no gen-worker on the npm registry; --registry writes ^<version> instead, and
GEN_WORKER_INIT_DEPENDENCY (for example file:../gen-worker) writes what it says.
init never overwrites anything: a folder that is not empty is refused (exit 2).`,
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
      // Refuse a bad template or folder before packing anything.
      await scaffold.findTemplate(options.template);
      await scaffold.checkTarget(dir);
      const { dependencySpec, sourceNote } = await import("../scaffold/gen-worker-source.js");
      const { npmHonoursAllowScripts } = await import("../scaffold/npm.js");
      const staging = await mkdtemp(join(tmpdir(), "cozy-init-"));
      try {
        const { source, extraFiles } = await chooseSource(settings, options, staging);
        const result = await scaffold.renderTemplate({
          template: options.template,
          targetDir: dir,
          variables: {
            name: scaffold.projectNameFromDir(dir),
            gen_worker_version: GEN_WORKER_VERSION,
            gen_worker_dependency: dependencySpec(source, GEN_WORKER_VERSION),
            gen_worker_note: sourceNote(source, GEN_WORKER_VERSION),
          },
          extraFiles,
        });
        // An npm that ignores allowScripts would download onnxruntime-node's CUDA files at install.
        const install = (await npmHonoursAllowScripts())
          ? "npm install"
          : "ONNXRUNTIME_NODE_INSTALL=skip npm install";
        out.info(
          `created ${result.files.length} files in ${result.targetDir} from the ${result.template.name} template`,
        );
        out.info(`\nnext steps:\n${scaffold.nextSteps(result, { install })}`);
        out.info(`\n${sourceNote(source, GEN_WORKER_VERSION)}`);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    });
}
