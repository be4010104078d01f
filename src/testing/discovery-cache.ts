import type { Manifest } from "../contract/manifest.js";

const manifests = new Map<string, Promise<Manifest>>();

/**
 * The project's manifest, discovered once per process: every kit of the same project shares it.
 * `fresh` discovers again (after the test changed the sources).
 */
export function discoverOnce(projectDir: string, fresh: boolean): Promise<Manifest> {
  let manifest = fresh ? undefined : manifests.get(projectDir);
  if (!manifest) {
    // Discovery (the TypeScript compiler) loads only when a kit is made without a manifest.
    manifest = import("../discovery/discover.js")
      .then(({ discover }) => discover(projectDir))
      .then((result) => result.manifest);
    manifests.set(projectDir, manifest);
    // A failed discovery is not remembered: the next kit tries again.
    const pending = manifest;
    pending.catch(() => {
      if (manifests.get(projectDir) === pending) manifests.delete(projectDir);
    });
  }
  return manifest;
}
