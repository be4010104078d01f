import type Docker from "dockerode";
import { type ContextEntry, packEntries } from "./context.js";
import { followEvents } from "./engine.js";
import { BuildError } from "./errors.js";
import type { Stage } from "./stage.js";

const REPOSITORY = "gen-worker-deps";
/** The project folder a deps image was staged from. */
const LABEL_DEPS_FOR = "cozy.gen-worker.deps-for";

/**
 * An image holding only `/node_modules`: the staged production install. The project's Dockerfile
 * copies it in with `COPY --from`, so its own build needs no registry and no network. Named by
 * the stage's hash, it is imported once and reused until a dependency changes; the project's
 * earlier deps images are then removed, so changing dependencies does not pile them up.
 */
export async function ensureDepsImage(docker: Docker, stage: Stage, projectDir: string): Promise<string> {
  const tag = stage.hash.slice(0, 16);
  const name = `${REPOSITORY}:${tag}`;
  try {
    await docker.getImage(name).inspect();
    return name;
  } catch {
    // not there yet: import it
  }
  const entries: ContextEntry[] = [
    ...stage.files.map((file) => ({
      name: file.path,
      type: "file" as const,
      size: file.size,
      mode: file.mode,
      source: file.source,
    })),
    ...stage.links.map((link) => ({ name: link.path, type: "symlink" as const, target: link.target })),
  ];
  const stream = await docker.importImage(packEntries(entries), {
    repo: REPOSITORY,
    tag,
    changes: [`LABEL ${LABEL_DEPS_FOR}=${JSON.stringify(projectDir)}`],
  });
  let failure: string | undefined;
  await followEvents(docker, stream, (event) => {
    if (event.error) failure = event.errorDetail?.message ?? event.error;
  });
  if (failure) throw new BuildError(`the Docker engine could not import the dependencies: ${failure}`);
  await removeEarlierDepsImages(docker, projectDir, name);
  return name;
}

/** Best effort: an image another build is using right now stays, and goes at a later build. */
async function removeEarlierDepsImages(docker: Docker, projectDir: string, current: string): Promise<void> {
  const images = await docker.listImages({
    filters: { reference: [REPOSITORY], label: [`${LABEL_DEPS_FOR}=${projectDir}`] },
  });
  for (const image of images) {
    if (image.RepoTags?.includes(current)) continue;
    for (const tag of image.RepoTags ?? [])
      await docker
        .getImage(tag)
        .remove()
        .catch(() => undefined);
  }
}
