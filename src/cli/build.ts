import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { CliSettings } from "../settings/cli.js";
import { type ProjectSettings, projectSettingsFromEnv } from "../settings/project.js";
import type { Output } from "./output.js";
import { UsageError } from "./usage.js";

interface BuildCliOptions {
  tag?: string;
  gpu?: boolean;
  cpu?: boolean;
  baseImage?: string;
  push?: boolean;
  json?: boolean;
  compatWith?: string;
  allowBreaking?: boolean;
}

export function registerBuild(program: Command, out: Output, settings: CliSettings): void {
  program
    .command("build")
    .description("build the project's worker image through the Docker Engine")
    .argument("[dir]", "project folder holding cozy.toml, Dockerfile, package.json and its lockfile", ".")
    .option(
      "-t, --tag <image>",
      "the image name and tag, e.g. my-worker:1 or registry.example.com/team/my-worker:1",
    )
    .option("--gpu", "build with gen-worker's GPU Dockerfile (CUDA 12, cuDNN 9) instead of the project's")
    .option("--cpu", "build with gen-worker's CPU Dockerfile (Node.js slim) instead of the project's")
    .option(
      "--base-image <image>",
      "start from this image instead of the Dockerfile's default (ARG BASE_IMAGE)",
    )
    .option("--push", "push the image to the registry named in its tag")
    .option("--json", "print the result (image id, size, labels, endpoints) as JSON on stdout")
    .option(
      "--compat-with <tag>",
      "refuse the build when it breaks clients of this image (or manifest file, or project folder); see cozy-worker diff",
    )
    .option(
      "--allow-breaking",
      "with --compat-with: build anyway, printing the breaking changes as a warning",
    )
    .addHelpText(
      "after",
      `
Before Docker runs, build checks the project files, the Dockerfile's bake step and ENTRYPOINT,
discovers the handlers, type-checks them and bundles them. gen-worker and the project's production
dependencies are staged from this machine (run npm install first), so the build itself needs no
network. Afterwards it checks that the manifest baked into the image equals this discovery.
DOCKER_HOST selects the engine.

Examples:
  $ cozy-worker build -t my-worker:dev
  $ cozy-worker build examples/hello -t hello:1 --base-image local/node-base:20.20.2
  $ cozy-worker build -t registry.example.com/team/my-worker:1 --push
  $ cozy-worker build -t my-worker:2 --compat-with my-worker:1   refuse changes that break my-worker:1's clients
  $ cozy-worker run --image my-worker:dev            then: cozy-worker invoke <endpoint> ...`,
    )
    .action(async (dir: string, options: BuildCliOptions) => {
      if (!options.tag) throw new UsageError("name the image: -t my-worker:dev");
      if (options.gpu && options.cpu) throw new UsageError("choose one of --gpu and --cpu");
      if (options.allowBreaking && !options.compatWith)
        throw new UsageError("--allow-breaking needs --compat-with <tag>: the image whose clients to check");
      checkCozyTomlLocation(dir, projectSettingsFromEnv());
      const { buildProject } = await import("../image/build.js");
      const result = await buildProject({
        dir,
        tag: options.tag,
        ...(options.gpu ? { target: "gpu" as const } : options.cpu ? { target: "cpu" as const } : {}),
        ...(options.baseImage ? { baseImage: options.baseImage } : {}),
        push: options.push === true,
        ...(options.compatWith ? { compatWith: options.compatWith } : {}),
        allowBreaking: options.allowBreaking === true,
        log: out,
        progress: { write: (text) => process.stderr.write(text), tty: process.stderr.isTTY === true },
        ...(settings.dockerHost ? { dockerHost: settings.dockerHost } : {}),
      });
      if (options.json) {
        const { manifest, ...rest } = result;
        const endpoints = manifest.functions.map((fn) => fn.endpoint_name);
        await out.writeResult(`${JSON.stringify({ ...rest, endpoints }, null, 2)}\n`);
      } else {
        out.info(`endpoints: ${result.manifest.functions.map((fn) => fn.endpoint_name).join(", ")}`);
        out.info(`try it: cozy-worker run --image ${result.tag}`);
      }
    });
}

/**
 * `COZY_MANIFEST_PATH` may name only the project's own cozy.toml: the Dockerfile copies the project
 * folder and discovers it inside the image, and the baked manifest must equal this machine's
 * discovery, so a cozy.toml from elsewhere could never be the one the image serves.
 */
function checkCozyTomlLocation(dir: string, { cozyTomlPath }: ProjectSettings): void {
  if (cozyTomlPath === undefined) return;
  const own = join(resolve(dir), "cozy.toml");
  if (resolve(cozyTomlPath) === own) return;
  throw new UsageError(
    `COZY_MANIFEST_PATH names ${resolve(cozyTomlPath)}, but an image is built from ${own}: the image discovers the project folder it copies, so another cozy.toml would not be the one baked; copy it to ${own} or unset COZY_MANIFEST_PATH`,
  );
}
