import { ResourceError } from "../../contract/errors.js";
import { formatBytes } from "../../util/format-bytes.js";
import { DiskFullError, freeBytes, freeText } from "../download/disk-full.js";

/** One file's download, to run with the signal it is given. */
export type DownloadTask = (signal: AbortSignal | undefined) => Promise<void>;

/**
 * Runs the downloads of a snapshot's files; the first failure rejects. A full disk also stops the
 * others, whose parts would only fill the disk further, and waits for them to end, so that the
 * caller can remove what they left before it reports the error.
 */
export async function downloadAll(tasks: readonly DownloadTask[], signal?: AbortSignal): Promise<void> {
  const diskFull = new AbortController();
  const stop = signal === undefined ? diskFull.signal : AbortSignal.any([signal, diskFull.signal]);
  const runs = tasks.map((task) =>
    task(stop).catch((error: unknown) => {
      if (error instanceof DiskFullError && !diskFull.signal.aborted) diskFull.abort(error);
      throw error;
    }),
  );
  try {
    await Promise.all(runs);
  } catch (error) {
    if (!diskFull.signal.aborted) throw error;
    await Promise.allSettled(runs);
    throw diskFull.signal.reason;
  }
}

/** A model's snapshot did not fit on the disk of the model cache. */
export class ModelCacheFullError extends ResourceError {}

/**
 * What to tell when the model `model` (a snapshot of `bytes` in all) did not fit in the cache
 * folder `cacheDir` (capped at `maxBytes`, 0 = no cap): how much, where, and what to do. `file` is
 * the path in the snapshot of the file that did not fit.
 */
export async function modelCacheFullError(
  error: DiskFullError,
  what: { model: string; bytes: number; cacheDir: string; maxBytes: number; file?: string | undefined },
): Promise<ModelCacheFullError> {
  const file =
    error.neededBytes === undefined
      ? ""
      : ` (${what.file ?? error.dest} alone ${formatBytes(error.neededBytes)})`;
  const cap = what.maxBytes > 0 ? `now ${formatBytes(what.maxBytes)}` : "now no cap";
  return new ModelCacheFullError(
    `no space left on the disk for model ${what.model}: its files need ${formatBytes(what.bytes)}${file} ` +
      `in the model cache ${what.cacheDir}${freeText(await freeBytes(what.cacheDir))}, and what was ` +
      "downloaded of it has been removed. Free space on that disk, or lower WORKER_MODEL_CACHE_MAX_GB " +
      `(${cap}) so that the cache keeps fewer models`,
    { cause: error },
  );
}
