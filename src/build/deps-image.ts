import type Docker from "dockerode";
import { type ContextEntry, packEntries } from "./context.js";
import { followEvents } from "./engine.js";
import { BuildError } from "./errors.js";
import type { Stage } from "./stage.js";

const REPOSITORY = "gen-worker-deps";

/**
 * An image holding only `/node_modules`: the staged production install. The project's Dockerfile
 * copies it in with `COPY --from`, so its own build needs no registry and no network. Named by
 * the stage's hash, it is imported once and reused until a dependency changes.
 */
export async function ensureDepsImage(docker: Docker, stage: Stage): Promise<string> {
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
  const stream = await docker.importImage(packEntries(entries), { repo: REPOSITORY, tag });
  let failure: string | undefined;
  await followEvents(docker, stream, (event) => {
    if (event.error) failure = event.errorDetail?.message ?? event.error;
  });
  if (failure) throw new BuildError(`the Docker engine could not import the dependencies: ${failure}`);
  return name;
}
