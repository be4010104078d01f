import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type Docker from "dockerode";
import type { Manifest } from "../contract/manifest.js";
import { formatProblem, type Problem } from "../contract/problems.js";
import { discover } from "../discovery/discover.js";
import { DiscoveryError } from "../discovery/problems.js";
import { typeErrors } from "../discovery/typecheck.js";
import { TEMPLATES_DIR } from "../host/package.js";
import { formatBytes } from "../util/format-bytes.js";
import { bundleHandlers } from "./bundle.js";
import { checkCompatibility } from "./compat.js";
import { collectContext, LARGE_CONTEXT_BYTES, packEntries, textEntry } from "./context.js";
import { ensureDepsImage } from "./deps-image.js";
import { buildImage } from "./docker-build.js";
import { BASE_IMAGE_ARG, checkDockerfile, DEPS_ARG } from "./dockerfile.js";
import { connectEngine } from "./engine.js";
import { BuildError } from "./errors.js";
import { imageLabels } from "./labels.js";
import { manifestDifferences, readBakedManifest } from "./manifest-check.js";
import { ProgressView, seconds } from "./progress.js";
import { checkProject } from "./project.js";
import { pushImage } from "./push.js";
import { stageDependencies } from "./stage.js";

/** Where gen-worker's own Dockerfile goes in the context when `--cpu` or `--gpu` picks it. */
const GENERATED_DOCKERFILE = ".cozy/Dockerfile";

export interface BuildOptions {
  dir: string;
  tag: string;
  /** Build with gen-worker's Dockerfile for this target instead of the project's. */
  target?: "cpu" | "gpu";
  baseImage?: string;
  push: boolean;
  log: { info(message: string): void; warn(message: string): void };
  /** Where live progress goes (stderr), and whether it is a terminal. */
  progress: { write(text: string): void; tty: boolean };
  /** DOCKER_HOST, for messages. */
  dockerHost?: string;
  /** `--compat-with`: refuse a build that breaks the clients of this image (checked before Docker builds). */
  compatWith?: string;
  /** `--allow-breaking`: with `compatWith`, build anyway and print the breaking changes as a warning. */
  allowBreaking?: boolean;
}

export interface BuildResult {
  imageId: string;
  tag: string;
  manifest: Manifest;
  labels: Record<string, string>;
  contextBytes: number;
  imageBytes: number;
  /** The base image's size, when the engine has it under the name given with --base-image. */
  baseBytes?: number;
  buildMs: number;
  digest?: string;
}

/**
 * `cozy-worker build`: every check that needs no Docker first (project files, Dockerfile,
 * discovery, type check, bundle), then the dependencies staged into an image, the build with
 * live progress, the baked manifest compared with the host's, and an optional push.
 */
export async function buildProject(options: BuildOptions): Promise<BuildResult> {
  const dir = resolve(options.dir);
  const { log } = options;
  await checkProject(dir);
  // A project without a Dockerfile builds with gen-worker's own, as --cpu would.
  let target = options.target;
  if (target === undefined && !existsSync(join(dir, "Dockerfile"))) {
    target = "cpu";
    log.info("no Dockerfile in the project: using gen-worker's CPU Dockerfile (--gpu for the GPU one)");
  }

  const dockerfileName = target ? GENERATED_DOCKERFILE : "Dockerfile";
  const dockerfile = await readFile(
    target ? join(TEMPLATES_DIR, "dockerfiles", `${target}.Dockerfile`) : join(dir, "Dockerfile"),
    "utf8",
  );
  const facts = checkDockerfile(dockerfile, target ? `gen-worker's ${target}.Dockerfile` : "Dockerfile");
  if (facts.problems.length > 0)
    throw BuildError.of(facts.problems, "the Dockerfile breaks the build contract:");
  if (options.baseImage && !facts.baseImageArg) {
    throw new BuildError(
      `--base-image needs the Dockerfile to declare ARG ${BASE_IMAGE_ARG} before FROM and start from it (FROM \${${BASE_IMAGE_ARG}})`,
    );
  }

  const manifest = await discoverOrFail(dir);
  log.info(
    `discovered ${manifest.functions.length} function(s): ${manifest.functions.map((fn) => fn.endpoint_name).join(", ")}`,
  );
  if (options.compatWith) {
    await checkCompatibility(manifest, {
      against: options.compatWith,
      allowBreaking: options.allowBreaking === true,
      log,
      ...(options.dockerHost ? { dockerHost: options.dockerHost } : {}),
    });
  }
  const mainPath = resolve(dir, manifest.runtime.main);
  const typeProblems = typeErrors(dir, mainPath);
  if (typeProblems.length > 0)
    throw problemsError("the handlers do not type-check: fix these errors", typeProblems);
  const bundle = await bundleHandlers(mainPath);

  const docker = await connectEngine(options.dockerHost);
  const buildargs: Record<string, string> = {};
  if (options.baseImage) buildargs[BASE_IMAGE_ARG] = options.baseImage;
  if (facts.depsArg) {
    const stage = await stageDependencies(dir);
    buildargs[DEPS_ARG] = await ensureDepsImage(docker, stage, dir);
    log.info(
      `dependencies: ${stage.files.length} files, ${formatBytes(stage.bytes)} (${buildargs[DEPS_ARG]})`,
    );
  }

  const extra = [bundle, ...(target ? [textEntry(GENERATED_DOCKERFILE, dockerfile)] : [])];
  const context = await collectContext(dir, extra);
  log.info(`build context: ${context.entries.length} files, ${formatBytes(context.bytes)}`);
  if (context.bytes > LARGE_CONTEXT_BYTES) {
    log.warn(
      `the build context is ${formatBytes(context.bytes)}: list what the image does not need (data, caches, outputs) in .dockerignore`,
    );
  }

  const labels = imageLabels(manifest);
  const view = new ProgressView(options.progress.write, options.progress.tty);
  let imageId: string;
  try {
    imageId = await buildImage(docker, {
      context: packEntries(context.entries),
      tag: options.tag,
      dockerfile: dockerfileName,
      buildargs,
      labels,
      onStep: (step, previous) => view.step(step, previous),
    });
  } catch (error) {
    view.end(false);
    throw error;
  }
  const buildMs = view.end(true);

  const differences = manifestDifferences(manifest, await readBakedManifest(docker, imageId));
  if (differences.length > 0) {
    throw new BuildError(
      "the manifest baked into the image differs from this machine's discovery: is the Dockerfile copying the whole project and running the same gen-worker?",
      differences,
    );
  }
  const sizes = await imageSizes(docker, imageId, options.baseImage);
  const result: BuildResult = {
    imageId,
    tag: options.tag,
    manifest,
    labels,
    contextBytes: context.bytes,
    buildMs,
    ...sizes,
  };
  log.info(
    `built ${options.tag} (${imageId.replace(/^sha256:/, "").slice(0, 12)}) in ${seconds(buildMs)}, ${formatBytes(sizes.imageBytes)}`,
  );
  if (options.push) {
    log.info(`pushing ${options.tag} ...`);
    result.digest = await pushImage(docker, options.tag, (line) => log.info(`  ${line}`));
    log.info(`pushed ${options.tag}@${result.digest}`);
  }
  return result;
}

async function discoverOrFail(dir: string): Promise<Manifest> {
  try {
    const { manifest } = await discover(dir);
    if (manifest.functions.length === 0 && (manifest.realtime_functions ?? []).length === 0) {
      throw new BuildError(
        `discovery found no handlers in ${manifest.runtime.main}: export a function whose first parameter is ctx: ActionContext`,
      );
    }
    return manifest;
  } catch (error) {
    if (error instanceof DiscoveryError)
      throw problemsError("discovery failed: fix these problems", error.problems);
    throw error;
  }
}

function problemsError(message: string, problems: readonly Problem[]): BuildError {
  return new BuildError(message, problems.map(formatProblem));
}

async function imageSizes(
  docker: Docker,
  imageId: string,
  baseImage: string | undefined,
): Promise<{ imageBytes: number; baseBytes?: number }> {
  const imageBytes = (await docker.getImage(imageId).inspect()).Size;
  if (!baseImage) return { imageBytes };
  try {
    return { imageBytes, baseBytes: (await docker.getImage(baseImage).inspect()).Size };
  } catch {
    return { imageBytes };
  }
}
