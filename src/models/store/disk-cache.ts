import { copyFile, link, mkdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { formatModelRef, type ModelRef, parseModelRef } from "../../contract/model-ref.js";
import type { Dtype } from "../../contract/model-spec.js";
import type { ResolvedCozyModel } from "../../contract/scheduler.js";
import { UserError } from "../../contract/user-errors.js";
import type { ModelSettings } from "../../settings/models.js";
import { DiskFullError } from "../download/disk-full.js";
import { downloadAgent } from "../download/download-agent.js";
import { downloadFile } from "../download/download-file.js";
import { type DownloadPool, sharedDownloadPool } from "../download/download-pool.js";
import {
  CozyHubClient,
  CozyHubError,
  type CozyManifest,
  cozyHubOptions,
  digestAlgorithm,
  digestHex,
  missingResolvedUrlsMessage,
  parseResolvedCozyModel,
  SNAPSHOT_DIGEST,
} from "../sources/cozy-hub.js";
import { type HfRepoFile, hfSelectionOptions, selectHfFiles } from "../sources/hf-file-selection.js";
import { DEFAULT_HF_REVISION, HfHubClient, HfHubError, hfHubOptions } from "../sources/hf-hub.js";
import { CozyBlobs } from "./cozy-blobs.js";
import { type DownloadTask, downloadAll, modelCacheFullError } from "./download-all.js";
import {
  hasFile,
  hasFiles,
  linkOrCopy,
  listDir,
  lockSnapshot,
  META_VERSION,
  missingFiles,
  publishSnapshot,
  readCozyMeta,
  readMeta,
  removeSnapshotFiles,
  type SnapshotFile,
  totalSize,
  walkFiles,
  writeRef,
} from "./snapshot-files.js";

const COMMIT_NAME = /^[0-9a-f]{7,64}$/;

export interface DiskCacheOptions {
  /** The cache folder and cap, the hubs, the proxy and the `COZY_HF_*` overrides. */
  settings: ModelSettings;
  /** Default: a client from the settings' `HF_ENDPOINT` and token. */
  hub?: HfHubClient;
  /**
   * Resolves `cozy:` refs that come without orchestrator URLs; used only when
   * `WORKER_ALLOW_COZY_HUB_API_RESOLVE` is set. Default: a client from `COZY_HUB_URL` and `COZY_HUB_TOKEN`.
   */
  cozyHub?: CozyHubClient;
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

/** A snapshot on disk, `hf:` or `cozy:`. */
export interface Snapshot {
  /** `hf:<repo>@<commit>`, or `cozy:<owner>/<repo>@<snapshot digest>` (an unprefixed digest as `blake3:<hex>`). */
  ref: string;
  /** `<owner>/<repo>`. */
  repo: string;
  /** What the ref asked for: a revision, a cozy digest or tag. */
  revision: string;
  /** The commit (`hf:`) or the snapshot digest, lowercase, as the orchestrator or Cozy Hub gave it (`cozy:`). */
  commit: string;
  /** The snapshot folder: `<cache>/hf/<owner>--<repo>/snapshots/<commit>` or `<cache>/cozy/snapshots/<digest>`. */
  dir: string;
  /** The files selected for this spec (`hf:`) or every file of the snapshot with its `blake3` (`cozy:`), sorted by path. */
  files: SnapshotFile[];
  /** Their total size. */
  bytes: number;
  /** True when no file had to be downloaded. */
  cached: boolean;
  /** Unpins the snapshot (a no-op unless `pin` was asked for); safe to call more than once. */
  release(): void;
}

export type HfSnapshot = Snapshot;
export type CozySnapshot = Snapshot;

export interface SnapshotInfo {
  scheme: "hf" | "cozy";
  ref: string;
  repo: string;
  /** The revision (hf) or tag (cozy) last pulled into this snapshot. */
  revision: string;
  /** The commit (hf) or the snapshot digest (cozy). */
  commit: string;
  dir: string;
  files: number;
  bytes: number;
  lastUsed: Date;
  /** Pinned by this process. */
  pinned: boolean;
}

/** A snapshot cannot be removed because a run of this process uses it. */
export class SnapshotInUseError extends UserError {
  constructor(readonly ref: string) {
    super(`${ref} is in use by a running model; unload it first`);
  }
}

/**
 * The on-disk model cache. An `hf:` snapshot lives at `<dir>/hf/<owner>--<repo>/snapshots/<commit>/`
 * and is built in `<commit>.building/` (each file through its `.part`), then renamed into place once
 * every file is verified: a folder named after a commit is always complete. Beside it: `<commit>.json`
 * (what it holds), `<commit>.used` (touched on each use, for LRU) and `<commit>.lock` (the
 * cross-process lock held while building or removing it).
 *
 * A `cozy:` snapshot uses the Python SDK's v2 layout: each file is a blob at
 * `<dir>/cozy/blobs/blake3/<hex[0:2]>/<hex[2:4]>/<hex>` (downloaded through its `.part`, renamed only
 * once its size and blake3 match), and `<dir>/cozy/snapshots/<snapshot digest>/<path>` is a hard link
 * to it (else a symlink, else a copy), built in `<digest>.building/` and renamed into place; beside it
 * the same `.json`, `.used` and `.lock` as an hf: snapshot, and `<blob>.lock` while a blob is fetched,
 * linked or removed. Both kinds share the LRU and the size cap; a blob no snapshot uses is removed
 * with the last snapshot that used it.
 */
export class ModelDiskCache {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly hub: HfHubClient;
  private readonly pool: DownloadPool;
  private readonly pins = new Map<string, number>();
  private cozyHub: CozyHubClient | undefined;
  private readonly blobs: CozyBlobs;

  constructor(private readonly options: DiskCacheOptions) {
    const { settings } = options;
    this.dir = settings.cache.dir;
    this.maxBytes = settings.cache.maxBytes;
    this.hub = options.hub ?? new HfHubClient(hfHubOptions(settings));
    this.pool = options.pool ?? sharedDownloadPool(settings.maxConcurrentDownloads);
    this.cozyHub = options.cozyHub;
    this.blobs = new CozyBlobs(join(this.dir, "cozy"));
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
    const selectionOptions = {
      ...hfSelectionOptions(spec, this.options.settings.hfSelection),
      repo: `hf:${repo}`,
    };
    const selection = selectHfFiles(listing, selectionOptions);
    const files: SnapshotFile[] = selection.files.map((file) => ({
      path: file.path,
      size: file.size,
      ...(file.lfsSha256 === undefined ? {} : { sha256: file.lfsSha256 }),
      ...(file.lfsSha256 !== undefined || file.gitOid === undefined ? {} : { gitOid: file.gitOid }),
    }));
    const snapshots = this.snapshotsDir(repo);
    const dir = join(snapshots, commit);
    const cached = await this.ensureBuilt(
      dir,
      files,
      selection.totalBytes,
      () => this.build(repo, revision, commit, listing, files, options),
      () => writeRef(snapshots, revision, commit),
    );
    return {
      ref: `hf:${repo}@${commit}`,
      repo,
      revision,
      commit,
      dir,
      files,
      bytes: selection.totalBytes,
      cached,
      release: options.pin ? this.pin(dir) : () => undefined,
    };
  }

  /**
   * Makes sure the snapshot folder `dir` holds `files`: true when it already did. Otherwise room
   * is made for `bytes`, the snapshot is locked against other processes, built (unless another
   * process built it while this one waited for the lock) and the cache evicted back under its cap.
   * `touched` runs whenever the snapshot is used, built or not.
   */
  private async ensureBuilt(
    dir: string,
    files: readonly SnapshotFile[],
    bytes: number,
    build: () => Promise<void>,
    touched: () => Promise<void> = async () => undefined,
  ): Promise<boolean> {
    if (await hasFiles(dir, files)) {
      await this.touch(dir);
      await touched();
      return true;
    }
    await mkdir(dirname(dir), { recursive: true });
    await this.evict({ reserveBytes: bytes });
    const lock = await lockSnapshot(dir, true);
    let cached = false;
    const release = this.pin(dir);
    try {
      if (await hasFiles(dir, files)) cached = true;
      else await build();
      lock.check();
    } finally {
      await lock.release();
    }
    try {
      await this.touch(dir);
      await touched();
      await this.evict();
    } finally {
      release();
    }
    return cached;
  }

  /** The folder of the cozy snapshot with this digest (it exists only once complete). */
  cozySnapshotDir(snapshotDigest: string): string {
    return join(this.dir, "cozy", "snapshots", snapshotDigest.trim().toLowerCase());
  }

  /** Where the blob with this blake3 lives. */
  cozyBlobPath(blake3: string): string {
    return this.blobs.path(blake3);
  }

  /**
   * Makes sure the `cozy:` snapshot `ref` names is on disk and returns it. `resolved` is the
   * orchestrator's data for the ref (`resolved_cozy_models_by_id[ref]` of the task, else
   * `resolved_cozy_models_by_variant_ref` of the deployment config): the snapshot digest and each
   * file's path, size, blake3 and presigned URL. Without it, a ref pinning a digest that is cached
   * is returned as is; anything else is resolved through the Cozy Hub API when
   * `WORKER_ALLOW_COZY_HUB_API_RESOLVE` is set, and refused otherwise. Another process building the
   * same snapshot is waited for.
   */
  async ensureCozySnapshot(
    refInput: ModelRef | string,
    resolved: ResolvedCozyModel | undefined,
    options: EnsureSnapshotOptions = {},
  ): Promise<CozySnapshot> {
    const ref = typeof refInput === "string" ? parseModelRef(refInput) : refInput;
    if (ref.scheme !== "cozy") {
      throw new Error(`hf:${ref.repo} is not a cozy: ref; hf: snapshots come from ensureHfSnapshot`);
    }
    const name = formatModelRef(ref);
    const repo = `${ref.owner}/${ref.repo}`;
    const revision = ref.digest ?? ref.tag;
    let manifest: CozyManifest;
    if (resolved !== undefined && resolved !== null) {
      manifest = parseResolvedCozyModel(resolved, name);
    } else {
      const cached = ref.digest === undefined ? undefined : await this.cachedCozySnapshot(ref.digest);
      if (cached !== undefined) {
        await this.touch(cached.dir);
        return this.cozyResult(repo, revision, cached, true, options);
      }
      const { settings } = this.options;
      if (!settings.cozyHub.apiResolveAllowed) throw new CozyHubError(missingResolvedUrlsMessage(name));
      this.cozyHub ??= new CozyHubClient(cozyHubOptions(settings));
      manifest = await this.cozyHub.resolve(ref, options.signal);
    }
    if (ref.digest !== undefined) {
      const pinned = digestAlgorithm(ref.digest);
      const given = digestAlgorithm(manifest.snapshotDigest) ?? "blake3";
      if (pinned === given && digestHex(ref.digest) !== digestHex(manifest.snapshotDigest)) {
        throw new CozyHubError(
          `${name} pins digest ${ref.digest}, but the resolved snapshot is ${manifest.snapshotDigest}; the scheduler sent URLs for another snapshot`,
        );
      }
    }
    const files: SnapshotFile[] = manifest.files.map((file) => ({
      path: file.path,
      size: file.size,
      blake3: file.blake3,
    }));
    const dir = this.cozySnapshotDir(manifest.snapshotDigest);
    const cached = await this.ensureBuilt(dir, files, totalSize(files), () =>
      this.buildCozy(repo, revision, manifest, files, dir, options),
    );
    return this.cozyResult(repo, revision, { digest: manifest.snapshotDigest, dir, files }, cached, options);
  }

  private cozyResult(
    repo: string,
    revision: string,
    snapshot: { digest: string; dir: string; files: SnapshotFile[] },
    cached: boolean,
    options: EnsureSnapshotOptions,
  ): CozySnapshot {
    return {
      ref: cozySnapshotRef(repo, snapshot.digest),
      repo,
      revision,
      commit: snapshot.digest,
      dir: snapshot.dir,
      files: snapshot.files,
      bytes: totalSize(snapshot.files),
      cached,
      release: options.pin ? this.pin(snapshot.dir) : () => undefined,
    };
  }

  /** A complete cozy snapshot whose digest is `digest` (with or without its `alg:` prefix). */
  private async cachedCozySnapshot(
    digest: string,
  ): Promise<{ digest: string; dir: string; files: SnapshotFile[] } | undefined> {
    const hex = digestHex(digest);
    for (const name of new Set([digest.toLowerCase(), hex, `blake3:${hex}`])) {
      if (!SNAPSHOT_DIGEST.test(name)) continue;
      const dir = this.cozySnapshotDir(name);
      const meta = await readCozyMeta(dir);
      if (meta !== undefined && (await hasFiles(dir, meta.files))) {
        return { digest: name, dir, files: meta.files };
      }
    }
    return undefined;
  }

  /** Fetches the missing blobs, links them into `<digest>.building/`, then renames it into place. */
  private async buildCozy(
    repo: string,
    tag: string,
    manifest: CozyManifest,
    files: SnapshotFile[],
    dir: string,
    options: EnsureSnapshotOptions,
  ): Promise<void> {
    const building = `${dir}.building`;
    await mkdir(building, { recursive: true });
    const missing = await missingFiles(building, manifest.files);
    const count = missing.length;
    const tasks = missing.map((file, at) => (signal: AbortSignal | undefined) => {
      const fileOptions = { ...options, ...(signal === undefined ? {} : { signal }) };
      return this.pool.run(
        () =>
          this.blobs.withBlob(file.blake3, async (blob) => {
            const position = { index: at + 1, count };
            if (await hasFile(blob, file.size)) {
              options.onProgress?.({
                path: file.path,
                bytes: file.size,
                total: file.size,
                ...position,
                done: true,
              });
            } else {
              await this.downloadSnapshotFile(file.url, blob, file, position, fileOptions).catch(
                (error: unknown) => {
                  throw options.signal?.aborted
                    ? error
                    : withContext(error, `cozy:${repo} file ${file.path}`);
                },
              );
            }
            await linkOrCopy(blob, join(building, ...file.path.split("/")));
          }),
        signal === undefined ? {} : { signal },
      );
    });
    await this.downloadSnapshot(tasks, options.signal, building, {
      model: `cozy:${repo} (snapshot ${manifest.snapshotDigest})`,
      files: manifest.files,
      fileAt: (dest) => manifest.files.find((file) => this.blobs.path(file.blake3) === dest)?.path,
      // Nor the parts or blobs only this snapshot would use.
      removeMore: async () => {
        for (const file of missing) {
          await this.blobs.withBlob(file.blake3, (blob) => rm(`${blob}.part`, { force: true }));
        }
        await this.blobs.removeUnused();
      },
    });
    await publishSnapshot(building, dir, {
      version: META_VERSION,
      scheme: "cozy",
      repo,
      tag,
      snapshotDigest: manifest.snapshotDigest,
      files,
      bytes: totalSize(files),
      createdAt: new Date().toISOString(),
    });
  }

  /**
   * Runs the downloads of a snapshot built in `building`. When the disk fills, nothing of the
   * snapshot is kept, its verified files included (the disk needs the room): `building` is removed,
   * then what `removeMore` removes, and the error tells what did not fit.
   */
  private async downloadSnapshot(
    tasks: readonly DownloadTask[],
    signal: AbortSignal | undefined,
    building: string,
    snapshot: {
      model: string;
      files: readonly SnapshotFile[];
      /** The snapshot path of the file downloaded to `dest`. */
      fileAt(dest: string): string | undefined;
      removeMore?(): Promise<void>;
    },
  ): Promise<void> {
    try {
      await downloadAll(tasks, signal);
    } catch (error) {
      if (!(error instanceof DiskFullError)) throw error;
      await rm(building, { recursive: true, force: true });
      await snapshot.removeMore?.();
      throw await modelCacheFullError(error, {
        model: snapshot.model,
        file: snapshot.fileAt(error.dest),
        bytes: totalSize(snapshot.files),
        cacheDir: this.dir,
        maxBytes: this.maxBytes,
      });
    }
  }

  /** Every complete snapshot in the cache, least recently used first. */
  async listSnapshots(): Promise<SnapshotInfo[]> {
    const root = join(this.dir, "hf");
    const found: (SnapshotInfo | undefined)[] = [];
    for (const repoDir of await listDir(root)) {
      const snapshots = join(root, repoDir, "snapshots");
      for (const name of (await listDir(snapshots)).filter((entry) => COMMIT_NAME.test(entry))) {
        const dir = join(snapshots, name);
        const meta = await readMeta(dir);
        const repo = meta?.repo ?? repoDir.replace("--", "/");
        found.push(
          await this.snapshotInfo(dir, meta, {
            scheme: "hf",
            ref: `hf:${repo}@${name}`,
            repo,
            revision: meta?.revision ?? name,
            commit: name,
          }),
        );
      }
    }
    const cozySnapshots = join(this.dir, "cozy", "snapshots");
    for (const name of (await listDir(cozySnapshots)).filter((entry) => SNAPSHOT_DIGEST.test(entry))) {
      const dir = join(cozySnapshots, name);
      const meta = await readCozyMeta(dir);
      const repo = meta?.repo ?? "unknown/unknown";
      found.push(
        await this.snapshotInfo(dir, meta, {
          scheme: "cozy",
          ref: cozySnapshotRef(repo, name),
          repo,
          revision: meta?.tag ?? name,
          commit: name,
        }),
      );
    }
    return found
      .filter((info): info is SnapshotInfo => info !== undefined)
      .sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime());
  }

  /** The entry of the snapshot folder `dir` (sizes from its metadata, else from its files); undefined when it is no folder. */
  private async snapshotInfo(
    dir: string,
    meta: { files: SnapshotFile[]; bytes: number } | undefined,
    names: Pick<SnapshotInfo, "scheme" | "ref" | "repo" | "revision" | "commit">,
  ): Promise<SnapshotInfo | undefined> {
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) return undefined;
    const walked = meta === undefined ? await walkFiles(dir) : undefined;
    const used = await stat(`${dir}.used`).catch(() => undefined);
    return {
      ...names,
      dir,
      files: meta?.files.length ?? walked?.length ?? 0,
      bytes: meta?.bytes ?? walked?.reduce((sum, file) => sum + file.size, 0) ?? 0,
      lastUsed: used?.mtime ?? info.mtime,
      pinned: (this.pins.get(dir) ?? 0) > 0,
    };
  }

  /**
   * Removes the snapshots `ref` names: `hf:owner/repo` all of the repo's, `hf:owner/repo@<rev>` the one
   * whose commit or last pulled revision is `<rev>`; `cozy:owner/repo` all of the repo's,
   * `cozy:owner/repo:<tag>` those last pulled as that tag (a tag counts only when written in a string
   * ref), `cozy:owner/repo@<alg>:<hex>` the one with that digest (a prefix of 12 or more hex digits
   * will do). Returns what was removed; refuses pinned ones.
   */
  async removeSnapshot(refInput: ModelRef | string): Promise<SnapshotInfo[]> {
    const ref = typeof refInput === "string" ? parseModelRef(refInput) : refInput;
    const tag = ref.scheme === "cozy" && typeof refInput === "string" ? explicitCozyTag(refInput) : undefined;
    const matches = (await this.listSnapshots()).filter((info) => {
      if (ref.scheme === "hf") {
        return (
          info.scheme === "hf" &&
          info.repo === ref.repo &&
          (ref.revision === undefined ||
            info.revision === ref.revision ||
            info.commit.startsWith(ref.revision.toLowerCase()))
        );
      }
      if (info.scheme !== "cozy" || info.repo !== `${ref.owner}/${ref.repo}`) return false;
      if (ref.digest !== undefined) {
        const want = digestHex(ref.digest);
        const have = digestHex(info.commit);
        return have === want || (want.length >= 12 && have.startsWith(want));
      }
      return tag === undefined || info.revision === tag;
    });
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
    if (matches.some((info) => info.scheme === "cozy")) await this.blobs.removeUnused();
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
    if (removed.some((info) => info.scheme === "cozy")) await this.blobs.removeUnused();
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

    const missing = await missingFiles(building, files);
    const count = missing.length;
    const headers = this.hub.authHeaders();
    const tasks = missing.map(
      (file, at) => (signal: AbortSignal | undefined) =>
        this.pool.run(
          () =>
            this.downloadSnapshotFile(
              this.hub.fileUrl(repo, commit, file.path),
              join(building, ...file.path.split("/")),
              file,
              { index: at + 1, count, headers },
              { ...options, ...(signal === undefined ? {} : { signal }) },
            ),
          signal === undefined ? {} : { signal },
        ),
    );
    await this.downloadSnapshot(tasks, options.signal, building, {
      model: `hf:${repo}@${revision}`,
      files,
      fileAt: (dest) => relative(building, dest).split(sep).join("/"),
    });

    const byPath = new Map<string, SnapshotFile>();
    for (const file of [...kept, ...files]) byPath.set(file.path, file);
    const all = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    await publishSnapshot(building, dir, {
      version: META_VERSION,
      repo,
      revision,
      commit,
      files: all,
      bytes: totalSize(all),
      listing,
      createdAt: new Date().toISOString(),
    });
  }

  /** One file of a snapshot, verified, to `dest` (through its `.part`), reporting progress. */
  private async downloadSnapshotFile(
    url: string,
    dest: string,
    file: SnapshotFile,
    position: { index: number; count: number; headers?: Record<string, string> },
    options: EnsureSnapshotOptions,
  ): Promise<void> {
    const { index, count } = position;
    const size = Number.isFinite(file.size) ? file.size : undefined;
    const result = await downloadFile(url, dest, {
      dispatcher: downloadAgent(this.options.settings.proxy),
      ...(position.headers === undefined ? {} : { headers: position.headers }),
      ...(size === undefined ? {} : { expectedSize: size }),
      ...(file.sha256 === undefined ? {} : { expectedSha256: file.sha256 }),
      ...(file.blake3 === undefined ? {} : { expectedBlake3: file.blake3 }),
      ...(file.gitOid === undefined ? {} : { expectedGitOid: file.gitOid }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(this.options.downloadRetries === undefined ? {} : { retries: this.options.downloadRetries }),
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
  }
}

/** `cozy:<repo>@<digest>`, an unprefixed digest written as `blake3:<hex>` so the ref parses. */
function cozySnapshotRef(repo: string, digest: string): string {
  return `cozy:${repo}@${digestAlgorithm(digest) === undefined ? `blake3:${digest}` : digest}`;
}

/** The tag written in a cozy ref (`cozy:o/r:v1` → `v1`), or undefined when none is written. */
function explicitCozyTag(text: string): string | undefined {
  const body = text.trim().replace(/^cozy:/i, "");
  const name = body.split("@")[0] ?? "";
  const at = name.lastIndexOf(":");
  return at === -1 || at === name.length - 1 ? undefined : name.slice(at + 1);
}

/** The error with `what` in front of its message (the class, and so how it is handled, is kept). */
function withContext(error: unknown, what: string): unknown {
  if (error instanceof Error && !error.message.startsWith(what)) error.message = `${what}: ${error.message}`;
  return error;
}
