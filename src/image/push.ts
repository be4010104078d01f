import type Docker from "dockerode";
import { formatBytes } from "../util/format-bytes.js";
import { followEvents } from "./engine.js";
import { BuildError } from "./errors.js";
import type { EngineEvent } from "./progress.js";

/** `registry:5000/team/app:1` → repository `registry:5000/team/app`, tag `1` (default `latest`). */
export function splitTag(reference: string): { repository: string; tag: string } {
  const at = reference.indexOf("@");
  const name = at === -1 ? reference : reference.slice(0, at);
  const colon = name.lastIndexOf(":");
  if (colon > name.lastIndexOf("/")) return { repository: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repository: name, tag: "latest" };
}

/** Totals of a push stream: layers seen, done, and bytes sent so far (per layer, the latest figure). */
export class PushProgress {
  readonly layers = new Map<string, { current: number; total: number; done: boolean }>();
  digest: string | undefined;
  failure: string | undefined;

  handle(event: EngineEvent): void {
    if (event.error !== undefined) this.failure = (event.errorDetail?.message ?? event.error).trim();
    if (event.aux?.Digest) this.digest = event.aux.Digest;
    if (!event.id || !event.status) return;
    const layer = this.layers.get(event.id) ?? { current: 0, total: 0, done: false };
    if (event.status === "Pushing" && event.progressDetail) {
      layer.current = event.progressDetail.current ?? layer.current;
      layer.total = event.progressDetail.total ?? layer.total;
    }
    if (event.status === "Pushed" || event.status === "Layer already exists") layer.done = true;
    if (event.status !== "Preparing" || !this.layers.has(event.id)) this.layers.set(event.id, layer);
  }

  summary(): string {
    const layers = [...this.layers.values()];
    const sent = layers.reduce((sum, layer) => sum + layer.current, 0);
    const done = layers.filter((layer) => layer.done).length;
    return `${done}/${layers.length} layers, ${formatBytes(sent)} sent`;
  }
}

/** Pushes `reference` to the registry it names, reporting progress; returns the manifest digest. */
export async function pushImage(
  docker: Docker,
  reference: string,
  report: (line: string) => void,
): Promise<string> {
  const { repository, tag } = splitTag(reference);
  const progress = new PushProgress();
  let last = "";
  try {
    const stream = await docker.getImage(repository).push({ tag });
    await followEvents(docker, stream, (event) => {
      progress.handle(event);
      const line = progress.summary();
      if (line !== last && event.status !== "Pushing") report(line);
      last = line;
    });
  } catch (error) {
    throw new BuildError(`pushing ${reference} failed: ${(error as Error).message}`);
  }
  if (progress.failure) {
    const hint = /denied|unauthorized|authentication/i.test(progress.failure)
      ? "log in to the registry (docker login) or check the tag's registry and repository"
      : "check that the registry in the tag is reachable from the Docker engine";
    throw new BuildError(`pushing ${reference} failed: ${progress.failure}\n  ${hint}`);
  }
  if (!progress.digest) throw new BuildError(`pushing ${reference} ended without a digest from the registry`);
  return progress.digest;
}
