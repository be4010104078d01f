import type { ModelRef } from "../../contract/model-ref.js";
import type { ResolvedCozyModel } from "../../contract/scheduler.js";
import type { EnsureSnapshotOptions, ModelDiskCache, SnapshotSpec } from "./disk-cache.js";

/** What the model host needs of a snapshot on disk, whatever hub it came from. */
export interface ModelSnapshot {
  /** The ref pinned to its content: `hf:<repo>@<commit>` or `cozy:<owner>/<repo>@<digest>`. */
  ref: string;
  /** The snapshot folder. */
  dir: string;
  /** Its files, paths relative to `dir`. */
  files: { path: string; size: number }[];
  bytes: number;
  /** True when nothing had to be downloaded. */
  cached: boolean;
  /** Ends the pin asked for with `pin: true`. */
  release(): void;
}

/**
 * Makes sure the snapshot of `ref` is in the disk cache: `hf:` refs from the Hugging Face hub (the
 * files `spec` selects), `cozy:` refs from the scheduler's presigned URLs in `resolved` (the whole
 * snapshot; without URLs, see {@link ModelDiskCache.ensureCozySnapshot}).
 */
export function ensureSnapshot(
  cache: ModelDiskCache,
  ref: ModelRef,
  spec: SnapshotSpec,
  options: EnsureSnapshotOptions,
  resolved?: ResolvedCozyModel,
): Promise<ModelSnapshot> {
  if (ref.scheme === "hf") return cache.ensureHfSnapshot(ref, spec, options);
  return cache.ensureCozySnapshot(ref, resolved, options);
}
