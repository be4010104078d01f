import { readdir, rm, stat, utimes } from "node:fs/promises";
import { join, resolve } from "node:path";

/** `WORKER_CACHE_MAX_BYTES` when unset: 10 GiB. */
export const DEFAULT_INPUT_CACHE_MAX_BYTES = 10 * 1024 * 1024 * 1024;

/** A download's temporary file left untouched this long belongs to no live download (a crashed worker's). */
const STALE_PART_MS = 60 * 60 * 1000;

/**
 * The folder of cached Cozy input files, kept under a size cap by removing the least recently used
 * files first. A file in use is never removed: one pinned by a download of this process (between
 * finding it and linking it into a run folder), or one hard-linked into a run folder (its link
 * count is above 1 until the run's folder is removed). The index of files and their last use is
 * kept in memory, read once from the folder (by modification time, which each use sets); files
 * another worker process adds to a shared folder are counted by that process, not this one.
 */
export class InputCache {
  /** File name → size, least recently used first (a use moves a name to the end). */
  private readonly entries = new Map<string, number>();
  private total = 0;
  private readonly pins = new Map<string, number>();
  private loaded: Promise<void> | undefined;
  /** Evictions run one after another, so two never count the same bytes. */
  private evicting: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {}

  /** Bytes of the files the index knows. */
  get bytes(): number {
    return this.total;
  }

  /** Keeps `name` from eviction until the returned function is called. */
  pin(name: string): () => void {
    this.pins.set(name, (this.pins.get(name) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const count = (this.pins.get(name) ?? 1) - 1;
      if (count <= 0) this.pins.delete(name);
      else this.pins.set(name, count);
    };
  }

  /** Records a use of the file `name` of `size` bytes, now: it becomes the most recently used. */
  async used(name: string, size: number): Promise<void> {
    await this.load();
    this.remember(name, size);
    const now = new Date();
    // The modification time carries the last use across restarts; a failure only costs that.
    await utimes(join(this.dir, name), now, now).catch(() => undefined);
  }

  /**
   * Removes least recently used files not in use until the cache plus `reserveBytes` fits
   * `maxBytes` (0 or less: no cap), or nothing more can go.
   */
  makeRoom(maxBytes: number, reserveBytes = 0): Promise<void> {
    if (maxBytes <= 0) return Promise.resolve();
    const run = this.evicting.then(() => this.evict(maxBytes, reserveBytes));
    this.evicting = run.catch(() => undefined);
    return run;
  }

  private async evict(maxBytes: number, reserveBytes: number): Promise<void> {
    await this.load();
    for (const name of this.entries.keys()) {
      if (this.total + reserveBytes <= maxBytes) return;
      if (this.pins.has(name)) continue;
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info === undefined || !info.isFile()) {
        this.forget(name);
        continue;
      }
      if (this.pins.has(name) || info.nlink > 1) continue;
      // A file that cannot be removed stays counted; the run that wanted room goes on regardless.
      if (
        await rm(path, { force: true }).then(
          () => true,
          () => false,
        )
      )
        this.forget(name);
    }
  }

  private load(): Promise<void> {
    this.loaded ??= this.scan();
    return this.loaded;
  }

  private async scan(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const found: { name: string; size: number; usedAt: number }[] = [];
    for (const name of names) {
      const info = await stat(join(this.dir, name)).catch(() => undefined);
      if (!info?.isFile()) continue;
      if (name.startsWith(".")) {
        if (name.endsWith(".part") && Date.now() - info.mtimeMs > STALE_PART_MS) {
          await rm(join(this.dir, name), { force: true });
        }
        continue;
      }
      found.push({ name, size: info.size, usedAt: info.mtimeMs });
    }
    found.sort((a, b) => a.usedAt - b.usedAt);
    for (const entry of found) this.remember(entry.name, entry.size);
  }

  private remember(name: string, size: number): void {
    this.forget(name);
    this.entries.set(name, size);
    this.total += size;
  }

  private forget(name: string): void {
    const size = this.entries.get(name);
    if (size === undefined) return;
    this.entries.delete(name);
    this.total -= size;
  }
}

const caches = new Map<string, InputCache>();

/** The process's one {@link InputCache} of a folder. */
export function inputCache(dir: string): InputCache {
  const key = resolve(dir);
  let cache = caches.get(key);
  if (cache === undefined) {
    cache = new InputCache(key);
    caches.set(key, cache);
  }
  return cache;
}

/**
 * Brings the cache of `dir` back under `maxBytes` once a run has let go of its files (files in use may
 * hold it over the cap meanwhile). Nothing to do for a folder this process never cached into.
 */
export async function trimInputCache(dir: string, maxBytes: number): Promise<void> {
  const cache = caches.get(resolve(dir));
  if (cache !== undefined && maxBytes > 0 && cache.bytes > maxBytes) await cache.makeRoom(maxBytes);
}
