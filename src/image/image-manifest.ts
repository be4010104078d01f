import Docker from "dockerode";
import { UserError } from "../contract/user-errors.js";
import { isStatus } from "./engine.js";
import { readBakedManifest } from "./manifest-check.js";

/**
 * The manifest baked into the image `tag`, unchecked. `role` names the argument in messages and
 * `path` is where it was looked for as a file or folder: when the engine does not answer or has
 * no such image, the usage error (exit 2) says all three were tried.
 */
export async function imageManifest(
  tag: string,
  role: string,
  path: string,
  dockerHost?: string,
): Promise<unknown> {
  const docker = new Docker();
  const tried = `${role} "${tag}" is not a manifest file or a project folder (nothing at ${path})`;
  const engine = `the Docker engine at ${dockerHost ?? "unix:///var/run/docker.sock"}`;
  const fix = "give a manifest file (cozy-worker discover -o FILE), a project folder or an image tag";
  try {
    await docker.ping();
  } catch (error) {
    throw new UserError(
      `${tried}, and ${engine} did not answer to look it up as an image (${(error as Error).message}): ${fix}, or start Docker`,
      { exitCode: 2 },
    );
  }
  try {
    await docker.getImage(tag).inspect();
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
    throw new UserError(`${tried}, nor an image ${engine} knows: ${fix}, or build or pull the image`, {
      exitCode: 2,
    });
  }
  try {
    return await readBakedManifest(docker, tag);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    throw new UserError(`${role} ${tag}: ${error.message} (was it built by cozy-worker build?)`, {
      cause: error,
    });
  }
}
