import { mkdir, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { BLAKE3_HEX } from "../sources/cozy-hub.js";
import { listDir, lockSnapshot, readCozyMeta, symlinkTargets } from "./snapshot-files.js";

/**
 * The files of `cozy:` snapshots, stored once by content under `<cozy>/blobs/blake3/<aa>/<bb>/<hex>`
 * and hard-linked (or copied) into every snapshot that holds them.
 */
export class CozyBlobs {
  /** Work on one blob in this process, one task after another (the file lock covers other processes). */
  private readonly queue = new Map<string, Promise<unknown>>();

  /** `cozyDir` holds `blobs/` and `snapshots/`. */
  constructor(private readonly cozyDir: string) {}

  /** Where the blob with this blake3 lives. */
  path(blake3: string): string {
    const hex = blake3.toLowerCase();
    return join(this.cozyDir, "blobs", "blake3", hex.slice(0, 2), hex.slice(2, 4), hex);
  }

  /**
   * Runs `task` on the blob's path holding its lock: one task at a time per blob in this process,
   * and the `<blob>.lock` file lock against other processes (downloading it, or removing it as unused).
   */
  withBlob<T>(blake3: string, task: (blob: string) => Promise<T>): Promise<T> {
    const blob = this.path(blake3);
    const previous = this.queue.get(blob) ?? Promise.resolve();
    const run = previous.then(async () => {
      await mkdir(dirname(blob), { recursive: true });
      const lock = await lockSnapshot(blob, true);
      try {
        const result = await task(blob);
        lock.check();
        return result;
      } finally {
        await lock.release();
      }
    });
    const tail = run.catch(() => undefined);
    this.queue.set(blob, tail);
    void tail.then(() => {
      if (this.queue.get(blob) === tail) this.queue.delete(blob);
    });
    return run;
  }

  /**
   * Removes the blobs no snapshot uses: not hard-linked from a snapshot (or a building one), not
   * named by a snapshot's metadata or symlink, and not locked by a process fetching or linking it.
   */
  async removeUnused(): Promise<void> {
    const snapshots = join(this.cozyDir, "snapshots");
    const used = new Set<string>();
    for (const name of await listDir(snapshots)) {
      const path = join(snapshots, name);
      if (name.endsWith(".json")) {
        for (const file of (await readCozyMeta(path.slice(0, -".json".length)))?.files ?? []) {
          if (file.blake3 !== undefined) used.add(file.blake3);
        }
      } else {
        for (const target of await symlinkTargets(path)) used.add(basename(target));
      }
    }
    const blobs = join(this.cozyDir, "blobs", "blake3");
    for (const a of await listDir(blobs)) {
      for (const b of await listDir(join(blobs, a))) {
        for (const name of await listDir(join(blobs, a, b))) {
          if (!BLAKE3_HEX.test(name) || used.has(name)) continue;
          const blob = join(blobs, a, b, name);
          const info = await stat(blob).catch(() => undefined);
          if (!info?.isFile() || info.nlink > 1) continue;
          const lock = await lockSnapshot(blob, false).catch(() => undefined);
          if (lock === undefined) continue;
          try {
            const again = await stat(blob).catch(() => undefined);
            if (again?.isFile() && again.nlink <= 1) await rm(blob, { force: true });
          } finally {
            await lock.release();
          }
        }
      }
    }
  }
}
