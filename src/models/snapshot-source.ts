import type { EnsureSnapshotOptions, ModelDiskCache, SnapshotSpec } from "./disk-cache.js";
import { formatModelRef, type ModelRef } from "./refs.js";

/** What the model host needs of a snapshot on disk, whatever hub it came from. */
export interface ModelSnapshot {
  /** The ref pinned to its content: `hf:<repo>@<commit>`. */
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

/** A `cozy:` ref that cannot be fetched: downloads need the orchestrator's presigned URLs. */
export class CozySnapshotUnavailableError extends Error {
  constructor(ref: ModelRef) {
    super(
      `cozy: refs need the scheduler's resolved URLs, and this worker cannot fetch ${formatModelRef(ref)} yet: use an hf: ref in cozy.toml for now`,
    );
    this.name = "CozySnapshotUnavailableError";
  }
}

/**
 * Makes sure the snapshot of `ref` is in the disk cache: `hf:` refs from the Hugging Face hub. `cozy:`
 * refs are dispatched here too; they will come from the presigned URLs of the scheduler's
 * `ResolvedCozyModel`s once the disk cache can build cozy snapshots.
 */
export function ensureSnapshot(
  cache: ModelDiskCache,
  ref: ModelRef,
  spec: SnapshotSpec,
  options: EnsureSnapshotOptions,
): Promise<ModelSnapshot> {
  if (ref.scheme === "hf") return cache.ensureHfSnapshot(ref, spec, options);
  return Promise.reject(new CozySnapshotUnavailableError(ref));
}
