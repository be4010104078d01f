import { cp, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import Docker from "dockerode";
import { REPO_ROOT } from "../support/runner-process.js";

/** The local Node base image that scripts/docker-up.sh makes (CI builds have no registry). */
export const BASE_IMAGE = process.env.BASE_TAG ?? `local/node-base:${process.versions.node}`;

/**
 * The engine the image tests use (DOCKER_HOST), or undefined with one line saying why they are
 * skipped. With CI=true a missing engine is a failure: CI starts one (scripts/docker-up.sh).
 */
export async function engineOrSkip(what: string): Promise<Docker | undefined> {
  const docker = new Docker();
  try {
    await docker.ping();
    await docker.getImage(BASE_IMAGE).inspect();
    return docker;
  } catch (error) {
    const why = `no Docker engine with ${BASE_IMAGE} at ${process.env.DOCKER_HOST ?? "/var/run/docker.sock"} (${(error as Error).message})`;
    if (process.env.CI === "true")
      throw new Error(`${why}: CI must start one with eval "$(sh scripts/docker-up.sh)"`);
    console.warn(`[${what}] skipped: ${why}; start one with eval "$(sh scripts/docker-up.sh)"`);
    return undefined;
  }
}

/** A copy of an example project in a temp folder (without what .gitignore keeps out), to break. */
export async function copyProject(relativeDir: string): Promise<string> {
  const source = join(REPO_ROOT, relativeDir);
  const target = join(await mkdtemp(join(tmpdir(), "cozy-build-")), basename(source));
  await cp(source, target, {
    recursive: true,
    filter: (path) => !/[/\\](\.cozy|outputs|node_modules)([/\\]|$)/.test(path.slice(source.length)),
  });
  return target;
}

/** A unique tag for a test image, so parallel runs and leftovers never collide. */
export function testTag(name: string): string {
  return `gen-worker-test/${name}:${process.pid}-${Date.now().toString(36)}`;
}
