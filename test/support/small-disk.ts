import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A tmpfs of a few bytes, mounted on a fresh temporary folder, to fill up for real (ENOSPC). */
export interface SmallDisk {
  path: string;
  /** Unmounts it and removes the folder; safe to call more than once. */
  remove(): Promise<void>;
}

/**
 * Mounts a tmpfs of `sizeBytes` (rounded up to whole pages) on a new temporary folder. Mounting
 * needs root (CI runs as root); elsewhere this prints why it could not, once, and returns it for
 * the test to skip with.
 */
export async function mountSmallDisk(sizeBytes: number): Promise<SmallDisk | { skip: string }> {
  if (process.platform !== "linux" || process.getuid?.() !== 0) {
    return skipped("filling a disk for real needs a tmpfs mount, which needs root on Linux");
  }
  const path = await mkdtemp(join(tmpdir(), "small-disk-"));
  try {
    await run("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes}`, "tmpfs", path]);
  } catch (error) {
    await rm(path, { recursive: true, force: true });
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return skipped(`cannot mount a tmpfs (${reason})`);
  }
  let removed = false;
  return {
    path,
    async remove() {
      if (removed) return;
      removed = true;
      // Lazy, so that a file a failed test left open cannot keep the mount (and the folder) around.
      await run("umount", ["-l", path]).catch(() => undefined);
      await rm(path, { recursive: true, force: true });
    },
  };
}

function skipped(reason: string): { skip: string } {
  const skip = `full-disk test skipped: ${reason}`;
  console.warn(skip);
  return { skip };
}
