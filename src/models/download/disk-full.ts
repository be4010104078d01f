import { statfs } from "node:fs/promises";
import { ResourceError } from "../../contract/errors.js";
import { formatBytes } from "../../util/format-bytes.js";
import { errorCode } from "../../util/io-errors.js";

/** Whether `error` says the disk (or the user's quota) is full. */
export function isDiskFull(error: unknown): boolean {
  const code = errorCode(error);
  return code === "ENOSPC" || code === "EDQUOT";
}

/** Bytes free for unprivileged writes on the disk of `path`; undefined when it cannot be told. */
export async function freeBytes(path: string): Promise<number | undefined> {
  try {
    const info = await statfs(path);
    return info.bavail * info.bsize;
  } catch {
    return undefined;
  }
}

/** ` (123 kB free)`, or nothing when unknown. */
export function freeText(free: number | undefined): string {
  return free === undefined ? "" : ` (${formatBytes(free)} free)`;
}

/** The disk filled up while a download was written; its partial file has been removed. */
export class DiskFullError extends ResourceError {
  constructor(
    /** The file being written. */
    readonly dest: string,
    /** Its full size, when known. */
    readonly neededBytes: number | undefined,
    /** The folder it was written to. */
    readonly dir: string,
    free: number | undefined,
    options?: ErrorOptions,
  ) {
    const needed = neededBytes === undefined ? "" : ` (it needs ${formatBytes(neededBytes)})`;
    super(
      `no space left on the disk for ${dest}${needed} in ${dir}${freeText(free)}; the partial file was removed: free space on that disk`,
      options,
    );
  }
}
