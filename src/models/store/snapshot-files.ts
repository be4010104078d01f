import { randomBytes } from "node:crypto";
import {
  copyFile,
  link,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join } from "node:path";
import lockfile from "proper-lockfile";
import type { HfRepoFile } from "../sources/hf-file-selection.js";

/** One file of a snapshot on disk. */
export interface SnapshotFile {
  path: string;
  size: number;
  sha256?: string;
  /** Hex blake3 (cozy: snapshots). */
  blake3?: string;
  /** Git's blob id (hf: files outside LFS, which have no sha256 in the listing). */
  gitOid?: string;
}

/**
 * The files of the disk cache, below the cache's own logic: snapshot metadata, the cross-process
 * lock of a snapshot, moving a finished snapshot into place and removing one without leaving
 * anything that looks complete, and the small file-system walks the cache needs.
 */

export const META_VERSION = 1;

export interface SnapshotMeta {
  version: number;
  repo: string;
  revision: string;
  commit: string;
  /** Files in the snapshot folder. */
  files: SnapshotFile[];
  bytes: number;
  /** The whole repo listing at this commit, so that a later selection can be made offline. */
  listing: HfRepoFile[];
  createdAt: string;
}

export interface CozySnapshotMeta {
  version: number;
  scheme: "cozy";
  /** `<owner>/<repo>` and the tag (or digest) of the pull that built it. */
  repo: string;
  tag: string;
  snapshotDigest: string;
  files: SnapshotFile[];
  bytes: number;
  createdAt: string;
}

export interface HeldLock {
  release(): Promise<void>;
  /** Throws when the lock was lost (taken over as stale) while held. */
  check(): void;
}

/** The cross-process lock of a snapshot: `<commit>.lock` beside it. */
export async function lockSnapshot(dir: string, wait: boolean): Promise<HeldLock> {
  let compromised: Error | undefined;
  const release = await lockfile.lock(dir, {
    realpath: false,
    lockfilePath: `${dir}.lock`,
    stale: 15_000,
    update: 3_000,
    retries: wait ? { retries: 100_000, factor: 1.3, minTimeout: 50, maxTimeout: 1_000 } : 0,
    onCompromised: (error) => {
      compromised = error;
    },
  });
  return {
    release: () => release().catch(() => undefined),
    check: () => {
      if (compromised !== undefined) {
        throw new Error(`lost the lock of ${dir} while building it: ${compromised.message}`);
      }
    },
  };
}

/** Renames `building` to `dir`; an existing `dir` (incomplete, or a subset) is moved aside first, then removed. */
export async function swapIntoPlace(building: string, dir: string): Promise<void> {
  if ((await stat(dir).catch(() => undefined)) !== undefined) {
    const old = `${dir}.old-${randomBytes(4).toString("hex")}`;
    await rename(dir, old);
    await rename(building, dir);
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(building, dir);
  }
}

export async function removeSnapshotFiles(dir: string): Promise<void> {
  // Renamed first, so a crash half-way leaves nothing that looks like a snapshot.
  const doomed = `${dir}.deleting-${randomBytes(4).toString("hex")}`;
  await rename(dir, doomed).catch(() => undefined);
  await rm(`${dir}.json`, { force: true });
  await rm(`${dir}.used`, { force: true });
  await rm(`${dir}.building`, { recursive: true, force: true });
  await rm(doomed, { recursive: true, force: true });
}

export async function writeRef(snapshots: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const refs = join(snapshots, "..", "refs");
  await mkdir(refs, { recursive: true });
  const file = join(refs, encodeURIComponent(revision));
  const temp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temp, commit);
  await rename(temp, file);
}

export async function readMeta(dir: string): Promise<SnapshotMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(`${dir}.json`, "utf8")) as SnapshotMeta;
    return meta.version === META_VERSION && Array.isArray(meta.files) ? meta : undefined;
  } catch {
    return undefined;
  }
}

export async function hasFiles(dir: string, files: readonly SnapshotFile[]): Promise<boolean> {
  for (const file of files) {
    if (!(await hasFile(join(dir, ...file.path.split("/")), file.size))) return false;
  }
  return true;
}

/**
 * The files of `files` that the folder `dir` does not hold at their size. A size check is enough:
 * only verified files are ever put in a snapshot folder or its `.building` one.
 */
export async function missingFiles<F extends { path: string; size: number }>(
  dir: string,
  files: readonly F[],
): Promise<F[]> {
  const missing: F[] = [];
  for (const file of files) {
    if (!(await hasFile(join(dir, ...file.path.split("/")), file.size))) missing.push(file);
  }
  return missing;
}

/** The size of the files together; a file of unknown size (not finite) counts 0. */
export function totalSize(files: readonly { size: number }[]): number {
  return files.reduce((sum, file) => sum + (Number.isFinite(file.size) ? file.size : 0), 0);
}

/** Writes the snapshot's metadata, then renames `building` into place: a snapshot folder always has it. */
export async function publishSnapshot(
  building: string,
  dir: string,
  meta: SnapshotMeta | CozySnapshotMeta,
): Promise<void> {
  await writeFile(`${dir}.json.tmp`, JSON.stringify(meta));
  await rename(`${dir}.json.tmp`, `${dir}.json`);
  await swapIntoPlace(building, dir);
}

export async function hasFile(path: string, size: number): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() === true && (!Number.isFinite(size) || info.size === size);
}

export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

export async function walkFiles(dir: string): Promise<{ path: string; size: number }[]> {
  const result: { path: string; size: number }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) result.push(...(await walkFiles(path)));
    else if (entry.isFile()) result.push({ path, size: (await stat(path)).size });
  }
  return result;
}

export async function readCozyMeta(dir: string): Promise<CozySnapshotMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(`${dir}.json`, "utf8")) as CozySnapshotMeta;
    return meta.version === META_VERSION && meta.scheme === "cozy" && Array.isArray(meta.files)
      ? meta
      : undefined;
  } catch {
    return undefined;
  }
}

/** Puts `source` at `target`: a hard link, else a symlink, else a copy. */
export async function linkOrCopy(source: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  await rm(target, { force: true });
  try {
    await link(source, target);
  } catch {
    try {
      await symlink(source, target);
    } catch {
      await copyFile(source, target);
    }
  }
}

/** The targets of the symlinks under `dir` (any depth). */
export async function symlinkTargets(dir: string): Promise<string[]> {
  const result: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) result.push(...(await symlinkTargets(path)));
    else if (entry.isSymbolicLink()) {
      const target = await readlink(path).catch(() => undefined);
      if (target !== undefined) result.push(target);
    }
  }
  return result;
}
