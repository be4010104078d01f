import type { Readable } from "node:stream";
import type Docker from "dockerode";
import { followEvents } from "./engine.js";
import { BuildError } from "./errors.js";
import { BuildProgress, type Step, shorten } from "./progress.js";

export interface ImageBuildOptions {
  context: Readable;
  tag: string;
  dockerfile: string;
  buildargs: Record<string, string>;
  labels: Record<string, string>;
  onStep: (step: Step, previous: Step | undefined) => void;
}

/**
 * Builds through the engine's API (the legacy builder: it runs on every engine, needs no
 * buildx) and returns the image id. A failing step becomes one BuildError that names the step
 * and shows its last output lines; a FROM that fails names the base image.
 */
export async function buildImage(docker: Docker, options: ImageBuildOptions): Promise<string> {
  const progress = new BuildProgress(options.onStep);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(options.context, {
      t: options.tag,
      dockerfile: options.dockerfile,
      buildargs: options.buildargs,
      labels: options.labels,
      rm: true,
      forcerm: true,
    });
    await followEvents(docker, stream, (event) => progress.handle(event));
  } catch (error) {
    throw new BuildError(`the Docker engine stopped the build: ${(error as Error).message}`);
  }
  const failure = progress.failure;
  if (failure) {
    const step = failure.step;
    if (step && /^FROM\s/i.test(step.instruction)) {
      throw new BuildError(
        `the base image in step ${step.number}/${step.total} (${shorten(step.instruction, 80)}) cannot be found or pulled: ${failure.message}\n` +
          "  pull it first (docker pull), or pass --base-image with an image this engine has",
      );
    }
    const where = step
      ? `step ${step.number}/${step.total} failed: ${shorten(step.instruction, 120)}`
      : "the build failed";
    const lines =
      failure.lines.length > 0 ? ["its last output:", ...failure.lines.map((line) => `  ${line}`)] : [];
    throw new BuildError(`${where}\n  ${failure.message}`, lines);
  }
  if (!progress.imageId) throw new BuildError("the Docker engine finished the build without an image id");
  return progress.imageId;
}
