import { randomBytes } from "node:crypto";
import {
  copyFile,
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import type { Dtype } from "../config/cozy-toml.js";
import { EnvironmentError } from "../config/environment.js";
import { downloadFile } from "./download-file.js";
import { type DownloadPool, sharedDownloadPool } from "./download-pool.js";
import { type HfRepoFile, hfSelectionOptionsFromEnv, selectHfFiles } from "./hf-file-selection.js";
import { DEFAULT_HF_REVISION, HfHubClient, HfHubError, hfHubOptionsFromEnv } from "./hf-hub.js";
import { type ModelRef, parseModelRef } from "./refs.js";

/** `WORKER_MODEL_CACHE_DIR` when unset. */
export const DEFAULT_MODEL_CACHE_DIR = "/tmp/cozy/models";

const GB = 1_000_000_000;
const META_VERSION = 1;
const COMMIT_NAME = /^[0-9a-f]{7,64}$/;

export interface DiskCacheOptions {
  /** Cache root; default `WORKER_MODEL_CACHE_DIR`, else {@link DEFAULT_MODEL_CACHE_DIR}. */
  dir?: string;
  /** Size cap in bytes; default `WORKER_MODEL_CACHE_MAX_GB` (decimal GB); 0 or unset = no cap. */
  maxBytes?: number;
  /** Read for the defaults, the `HF_*` and the `COZY_HF_*` variables. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Default: a client from `HF_ENDPOINT` and `HF_TOKEN`. */
  hub?: HfHubClient;
  /** Default: the process-wide pool (`WORKER_MAX_CONCURRENT_DOWNLOADS`). */
  pool?: DownloadPool;
  /** Retries per file (downloadFile's `retries`). */
  downloadRetries?: number;
  /** First backoff per file (downloadFile's `retryBaseDelayMs`). */
  retryBaseDelayMs?: number;
}

/** The model's needs: the dtype preference and, optionally, the globs of the files to take. */
export interface SnapshotSpec {
  dtypes: readonly Dtype[];
  files?: readonly string[];
}

export interface FileProgress {
  /** Path inside the snapshot. */
  path: string;
  /** Bytes on disk so far (a resumed part included). */
  bytes: number;
  total: number | undefined;
  /** 1-based position of the file among the ones this call downloads, and their count. */
  index: number;
  count: number;
  /** True once, when the file is verified and in place. */
  done: boolean;
}

export interface EnsureSnapshotOptions {
  onProgress?: (progress: FileProgress) => void;
  signal?: AbortSignal;
  /** Pin the snapshot (never evicted) until `release()` of the result is called. */
  pin?: boolean;
}

export interface SnapshotFile {
  path: string;
  size: number;
  sha256?: string;
}

export interface HfSnapshot {
  /** `hf:<repo>@<commit>`. */
  ref: string;
  repo: string;
  revision: string;
  commit: string;
  /** The snapshot folder: `<cache>/hf/<owner>--<repo>/snapshots/<commit>`. */
  dir: string;
  /** The files selected for this spec, sorted by path. */
  files: SnapshotFile[];
  /** Their total size. */
  bytes: number;
  /** True when no file had to be downloaded. */
  cached: boolean;
  /** Unpins the snapshot (a no-op unless `pin` was asked for); safe to call more than once. */
  release(): void;
}

export interface SnapshotInfo {
  ref: string;
  repo: string;
  /** The revision last pulled into this snapshot. */
  revision: string;
  commit: string;
  dir: string;
  files: number;
  bytes: number;
  lastUsed: Date;
  /** Pinned by this process. */
  pinned: boolean;
}

/** A snapshot cannot be removed because a run of this process uses it. */
export class SnapshotInUseError extends Error {
  constructor(readonly ref: string) {
    super(`${ref} is in use by a running model; unload it first`);
    this.name = "SnapshotInUseError";
  }
}

interface SnapshotMeta {
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

/** `WORKER_MODEL_CACHE_DIR` and `WORKER_MODEL_CACHE_MAX_GB` (0 or unset = no cap). */
export function diskCacheSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  dir: string;
  maxBytes: number;
} {
  const dir = env.WORKER_MODEL_CACHE_DIR?.trim() || DEFAULT_MODEL_CACHE_DIR;
  const raw = env.WORKER_MODEL_CACHE_MAX_GB?.trim();
  if (!raw) return { dir, maxBytes: 0 };
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new EnvironmentError([
      `WORKER_MODEL_CACHE_MAX_GB must be a number of gigabytes (0 = no cap), got "${raw}"`,
    ]);
  }
  return { dir, maxBytes: Math.floor(value * GB) };
}

/**
 * The on-disk model cache. An `hf:` snapshot lives at `<dir>/hf/<owner>--<repo>/snapshots/<commit>/`
 * and is built in `<commit>.building/` (each file through its `.part`), then renamed into place once
 * every file is verified: a folder named after a commit is always complete. Beside it: `<commit>.json`
 * (what it holds), `<commit>.used` (touched on each use, for LRU) and `<commit>.lock` (the
 * cross-process lock held while building or removing it).
 */
export class ModelDiskCache {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly env: NodeJS.ProcessEnv;
  private readonly hub: HfHubClient;
  private readonly pool: DownloadPool;
  private readonly pins = new Map<string, number>();

  constructor(private readonly options: DiskCacheOptions = {}) {
    this.env = options.env ?? process.env;
    const settings =
      options.dir !== undefined && options.maxBytes !== undefined
        ? { dir: options.dir, maxBytes: options.maxBytes }
        : diskCacheSettingsFromEnv(this.env);
    this.dir = options.dir ?? settings.dir;
    this.maxBytes = options.maxBytes ?? settings.maxBytes;
    this.hub = options.hub ?? new HfHubClient(hfHubOptionsFromEnv(this.env));
    this.pool = options.pool ?? sharedDownloadPool(this.env);
  }

  /** The folder of a repo's snapshots. */
  snapshotsDir(repo: string): string {
    return join(this.dir, "hf", repo.replaceAll("/", "--"), "snapshots");
  }

  /**
   * Makes sure the files `spec` selects from `ref` at its revision (default `main`) are on disk, and
   * returns the snapshot. Another process building the same snapshot is waited for.
   */
  async ensureHfSnapshot(
    refInput: ModelRef | string,
    spec: SnapshotSpec,
    options: EnsureSnapshotOptions = {},
  ): Promise<HfSnapshot> {
    const ref = typeof refInput === "string" ? parseModelRef(refInput) : refInput;
    if (ref.scheme !== "hf") {
      throw new Error(
        `cozy:${ref.owner}/${ref.repo} cannot be pulled from the Hugging Face hub; only hf: refs are cached here`,
      );
    }
    const repo = ref.repo;
    const revision = ref.revision ?? DEFAULT_HF_REVISION;
    const { commit, listing } = await this.resolveRevision(repo, revision);
    const selectionOptions = { ...hfSelectionOptionsFromEnv(spec, this.env), repo: `hf:${repo}` };
    const selection = selectHfFiles(listing, selectionOptions);
    const files: SnapshotFile[] = selection.files.map((file) =>
      file.lfsSha256 === undefined
        ? { path: file.path, size: file.size }
        : { path: file.path, size: file.size, sha256: file.lfsSha256 },
    );
    const snapshots = this.snapshotsDir(repo);
    const dir = join(snapshots, commit);
    const result = (cached: boolean): HfSnapshot => {
      const release = options.pin ? this.pin(dir) : () => undefined;
      return {
        ref: `hf:${repo}@${commit}`,
        repo,
        revision,
        commit,
        dir,
        files,
        bytes: selection.totalBytes,
        cached,
        release,
      };
    };

    if (await hasFiles(dir, files)) {
      await this.touch(dir);
      await writeRef(snapshots, revision, commit);
      return result(true);
    }

    await mkdir(snapshots, { recursive: true });
    await this.evict({ reserveBytes: selection.totalBytes });
    const lock = await lockSnapshot(dir, true);
    let cached = false;
    const release = this.pin(dir);
    try {
      // Another process may have built it while this one waited for the lock.
      if (await hasFiles(dir, files)) {
        cached = true;
      } else {
        await this.build(repo, revision, commit, listing, files, options);
      }
      lock.check();
    } finally {
      await lock.release();
    }
    try {
      await this.touch(dir);
      await writeRef(snapshots, revision, commit);
      await this.evict();
    } finally {
      release();
    }
    return result(cached);
  }

  /** Every complete snapshot in the cache, least recently used first. */
  async listSnapshots(): Promise<SnapshotInfo[]> {
    const root = join(this.dir, "hf");
    const result: SnapshotInfo[] = [];
    for (const repoDir of await listDir(root)) {
      const snapshots = join(root, repoDir, "snapshots");
      for (const name of await listDir(snapshots)) {
        if (!COMMIT_NAME.test(name)) continue;
        const dir = join(snapshots, name);
        const info = await stat(dir).catch(() => undefined);
        if (!info?.isDirectory()) continue;
        const meta = await readMeta(dir);
        const repo = meta?.repo ?? repoDir.replace("--", "/");
        const walked = meta === undefined ? await walkFiles(dir) : undefined;
        const used = await stat(`${dir}.used`).catch(() => undefined);
        result.push({
          ref: `hf:${repo}@${name}`,
          repo,
          revision: meta?.revision ?? name,
          commit: name,
          dir,
          files: meta?.files.length ?? walked?.length ?? 0,
          bytes: meta?.bytes ?? walked?.reduce((sum, file) => sum + file.size, 0) ?? 0,
          lastUsed: used?.mtime ?? info.mtime,
          pinned: (this.pins.get(dir) ?? 0) > 0,
        });
      }
    }
    return result.sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime());
  }

  /**
   * Removes the snapshots `ref` names: `hf:owner/repo` all of the repo's, `hf:owner/repo@<rev>` the one
   * whose commit or last pulled revision is `<rev>`. Returns what was removed; refuses pinned ones.
   */
  async removeSnapshot(refInput: ModelRef | string): Promise<SnapshotInfo[]> {
    const ref = typeof refInput === "string" ? parseModelRef(refInput) : refInput;
    if (ref.scheme !== "hf") throw new Error("only hf: snapshots are in this cache");
    const matches = (await this.listSnapshots()).filter(
      (info) =>
        info.repo === ref.repo &&
        (ref.revision === undefined ||
          info.revision === ref.revision ||
          info.commit.startsWith(ref.revision.toLowerCase())),
    );
    const pinned = matches.find((info) => info.pinned);
    if (pinned) throw new SnapshotInUseError(pinned.ref);
    for (const info of matches) {
      const lock = await lockSnapshot(info.dir, true);
      try {
        await removeSnapshotFiles(info.dir);
      } finally {
        await lock.release();
      }
    }
    return matches;
  }

  /**
   * Removes least recently used snapshots, never pinned ones or ones another process holds the lock
   * of, until the cache plus `reserveBytes` fits the cap. Returns what was removed.
   */
  async evict(options: { reserveBytes?: number } = {}): Promise<SnapshotInfo[]> {
    if (this.maxBytes <= 0) return [];
    const snapshots = await this.listSnapshots();
    let total = snapshots.reduce((sum, info) => sum + info.bytes, 0) + (options.reserveBytes ?? 0);
    const removed: SnapshotInfo[] = [];
    for (const info of snapshots) {
      if (total <= this.maxBytes) break;
      if (info.pinned) continue;
      const lock = await lockSnapshot(info.dir, false).catch(() => undefined);
      if (lock === undefined) continue;
      try {
        await removeSnapshotFiles(info.dir);
      } finally {
        await lock.release();
      }
      total -= info.bytes;
      removed.push(info);
    }
    return removed;
  }

  /** Keeps the snapshot at `dir` from eviction and removal until the returned function is called. */
  pin(dir: string): () => void {
    this.pins.set(dir, (this.pins.get(dir) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const count = (this.pins.get(dir) ?? 1) - 1;
      if (count <= 0) this.pins.delete(dir);
      else this.pins.set(dir, count);
    };
  }

  /** Records a use of the snapshot at `dir` (its LRU time). */
  async touch(dir: string): Promise<void> {
    const marker = `${dir}.used`;
    const now = new Date();
    await utimes(marker, now, now).catch(() => writeFile(marker, ""));
  }

  private async resolveRevision(
    repo: string,
    revision: string,
  ): Promise<{ commit: string; listing: HfRepoFile[] }> {
    const snapshots = this.snapshotsDir(repo);
    // A commit already cached needs no network call.
    if (/^[0-9a-f]{40}$/i.test(revision)) {
      const meta = await readMeta(join(snapshots, revision.toLowerCase()));
      if (meta !== undefined) return { commit: meta.commit, listing: meta.listing };
    }
    try {
      const listing = await this.hub.listRepoFiles(repo, revision);
      return { commit: listing.commit, listing: listing.files };
    } catch (error) {
      // Offline: a revision pulled before still resolves to the commit it had then.
      if (!(error instanceof HfHubError && error.retryable)) throw error;
      const commit = await readFile(
        join(snapshots, "..", "refs", encodeURIComponent(revision)),
        "utf8",
      ).catch(() => undefined);
      const meta = commit === undefined ? undefined : await readMeta(join(snapshots, commit.trim()));
      if (meta === undefined) throw error;
      return { commit: meta.commit, listing: meta.listing };
    }
  }

  /** Builds (or extends) the snapshot in `<commit>.building`, then renames it into place. */
  private async build(
    repo: string,
    revision: string,
    commit: string,
    listing: HfRepoFile[],
    files: SnapshotFile[],
    options: EnsureSnapshotOptions,
  ): Promise<void> {
    const dir = join(this.snapshotsDir(repo), commit);
    const building = `${dir}.building`;
    await mkdir(building, { recursive: true });
    // Files of an existing snapshot of this commit (another dtype) are kept: linked, not downloaded.
    const existing = await readMeta(dir);
    const kept = existing?.files ?? [];
    for (const file of kept) {
      const target = join(building, ...file.path.split("/"));
      if (await hasFile(target, file.size)) continue;
      await mkdir(join(target, ".."), { recursive: true });
      const source = join(dir, ...file.path.split("/"));
      await link(source, target).catch(() => copyFile(source, target));
    }

    const missing: SnapshotFile[] = [];
    for (const file of files) {
      // A file in the building folder was renamed from its `.part` only after it was verified.
      if (!(await hasFile(join(building, ...file.path.split("/")), file.size))) missing.push(file);
    }
    const count = missing.length;
    const headers = this.hub.authHeaders();
    await Promise.all(
      missing.map((file, at) =>
        this.pool.run(
          async () => {
            const index = at + 1;
            const dest = join(building, ...file.path.split("/"));
            const url = this.hub.fileUrl(repo, commit, file.path);
            const size = Number.isFinite(file.size) ? file.size : undefined;
            const result = await downloadFile(url, dest, {
              headers,
              ...(size === undefined ? {} : { expectedSize: size }),
              ...(file.sha256 === undefined ? {} : { expectedSha256: file.sha256 }),
              ...(options.signal === undefined ? {} : { signal: options.signal }),
              ...(this.options.downloadRetries === undefined
                ? {}
                : { retries: this.options.downloadRetries }),
              ...(this.options.retryBaseDelayMs === undefined
                ? {}
                : { retryBaseDelayMs: this.options.retryBaseDelayMs }),
              onProgress: (bytes, total) =>
                options.onProgress?.({ path: file.path, bytes, total, index, count, done: false }),
            });
            options.onProgress?.({
              path: file.path,
              bytes: result.bytes,
              total: result.bytes,
              index,
              count,
              done: true,
            });
          },
          options.signal === undefined ? {} : { signal: options.signal },
        ),
      ),
    );

    const byPath = new Map<string, SnapshotFile>();
    for (const file of [...kept, ...files]) byPath.set(file.path, file);
    const all = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const meta: SnapshotMeta = {
      version: META_VERSION,
      repo,
      revision,
      commit,
      files: all,
      bytes: all.reduce((sum, file) => sum + (Number.isFinite(file.size) ? file.size : 0), 0),
      listing,
      createdAt: new Date().toISOString(),
    };
    // The metadata is written before the rename, so a snapshot folder always has it.
    await writeFile(`${dir}.json.tmp`, JSON.stringify(meta));
    await rename(`${dir}.json.tmp`, `${dir}.json`);
    if (existing !== undefined || (await stat(dir).catch(() => undefined)) !== undefined) {
      const old = `${dir}.old-${randomBytes(4).toString("hex")}`;
      await rename(dir, old);
      await rename(building, dir);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(building, dir);
    }
  }
}

interface HeldLock {
  release(): Promise<void>;
  /** Throws when the lock was lost (taken over as stale) while held. */
  check(): void;
}

/** The cross-process lock of a snapshot: `<commit>.lock` beside it. */
async function lockSnapshot(dir: string, wait: boolean): Promise<HeldLock> {
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

async function removeSnapshotFiles(dir: string): Promise<void> {
  // Renamed first, so a crash half-way leaves nothing that looks like a snapshot.
  const doomed = `${dir}.deleting-${randomBytes(4).toString("hex")}`;
  await rename(dir, doomed).catch(() => undefined);
  await rm(`${dir}.json`, { force: true });
  await rm(`${dir}.used`, { force: true });
  await rm(`${dir}.building`, { recursive: true, force: true });
  await rm(doomed, { recursive: true, force: true });
}

async function writeRef(snapshots: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const refs = join(snapshots, "..", "refs");
  await mkdir(refs, { recursive: true });
  const file = join(refs, encodeURIComponent(revision));
  const temp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temp, commit);
  await rename(temp, file);
}

async function readMeta(dir: string): Promise<SnapshotMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(`${dir}.json`, "utf8")) as SnapshotMeta;
    return meta.version === META_VERSION && Array.isArray(meta.files) ? meta : undefined;
  } catch {
    return undefined;
  }
}

async function hasFiles(dir: string, files: readonly SnapshotFile[]): Promise<boolean> {
  for (const file of files) {
    if (!(await hasFile(join(dir, ...file.path.split("/")), file.size))) return false;
  }
  return true;
}

async function hasFile(path: string, size: number): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() === true && (!Number.isFinite(size) || info.size === size);
}

async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

async function walkFiles(dir: string): Promise<{ path: string; size: number }[]> {
  const result: { path: string; size: number }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) result.push(...(await walkFiles(path)));
    else if (entry.isFile()) result.push({ path, size: (await stat(path)).size });
  }
  return result;
}
