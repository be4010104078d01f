import type { Manifest } from "../contract/manifest.js";
import { diffManifests, formatManifestDiff, summarizeDiff } from "../discovery/manifest-diff.js";
import { BuildError } from "./errors.js";
import { loadManifest } from "./manifest-source.js";

export interface CompatOptions {
  /** `--compat-with`: the image (or manifest file, or project folder) whose clients must keep working. */
  against: string;
  /** `--allow-breaking`: build anyway, the breaking changes printed as warnings. */
  allowBreaking: boolean;
  log: { info(message: string): void; warn(message: string): void };
  dockerHost?: string;
}

/**
 * `build --compat-with`: the new build's manifest against the one baked into the image clients
 * use now, before anything is built or tagged. A breaking change fails the build with the report,
 * unless breaking is allowed; then the report is a warning.
 */
export async function checkCompatibility(manifest: Manifest, options: CompatOptions): Promise<void> {
  const { against, log } = options;
  const before = await loadManifest(against, "--compat-with", options.dockerHost);
  const diff = diffManifests(before.manifest, manifest);
  const report = formatManifestDiff(diff);
  const summary = `${summarizeDiff(diff)} against ${before.label}`;
  if (diff.breaking && !options.allowBreaking) {
    throw new BuildError(
      `this build breaks clients of ${against} (${summary}): make the changes compatible (docs/diff.md), or pass --allow-breaking to build anyway`,
      report,
    );
  }
  if (diff.breaking) log.warn(`building anyway (--allow-breaking): ${summary}`);
  else log.info(`compatible with ${against}: ${summary}`);
  for (const line of report) log.info(`  ${line}`);
}
