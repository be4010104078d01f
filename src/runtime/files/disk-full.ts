import { statfs } from "node:fs/promises";
import { ResourceError } from "../../contract/errors.js";
import { formatBytes } from "../../util/format-bytes.js";
import { errorCode } from "../../util/io-errors.js";

/** What to do when a run's inputs folder is on a full disk. */
export const RUN_DIR_FULL = "free space on that disk, or set WORKER_RUN_DIR to a folder on a bigger one";

/** What to do when the input file cache is on a full disk. */
export const INPUT_CACHE_FULL =
  "free space on that disk, or lower WORKER_CACHE_MAX_BYTES (the input file cache's cap)";

export interface DiskFullContext {
  /** The folder the file was written to. */
  dir: string;
  /** The file's size when known (announced by the sender). */
  neededBytes?: number | undefined;
  /** Bytes written before the disk filled up. */
  writtenBytes: number;
  /** What to do, after the message has said how much and where. */
  advice: string;
}

/** The error to report when `error` is a full disk (ENOSPC, EDQUOT): how much, where, what to do. */
export async function inputDiskFullError(
  error: unknown,
  context: DiskFullContext,
): Promise<ResourceError | undefined> {
  const code = errorCode(error);
  if (code !== "ENOSPC" && code !== "EDQUOT") return undefined;
  const needed =
    context.neededBytes === undefined
      ? `more than ${formatBytes(context.writtenBytes)}`
      : formatBytes(context.neededBytes);
  const free = await freeBytes(context.dir);
  const freeText = free === undefined ? "" : ` (${formatBytes(free)} free)`;
  return new ResourceError(
    `no space left on the worker's disk for an input file (${code}): it needs ${needed} in ${context.dir}${freeText}; ${context.advice}`,
    { cause: error },
  );
}

async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const info = await statfs(dir);
    return info.bavail * info.bsize;
  } catch {
    return undefined;
  }
}
