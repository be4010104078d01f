import { createHash, randomUUID } from "node:crypto";
import { chmod, copyFile, link, mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, extname, join, resolve } from "node:path";
import { ResourceError } from "../../contract/errors.js";
import { errorCode } from "../../util/io-errors.js";
import type { AssetInfo } from "./asset.js";
import { INPUT_CACHE_FULL, inputDiskFullError, RUN_DIR_FULL } from "./disk-full.js";
import { type FileApiClient, type FileMetadata, fileApiRequiredError } from "./file-api.js";
import { DEFAULT_INPUT_CACHE_MAX_BYTES, type InputCache, inputCache } from "./input-cache.js";
import { extensionForMime, sniffFileMime } from "./mime.js";

export interface CozyDownloadOptions {
  api: FileApiClient | undefined;
  runInputsDir: string;
  /** Shared between runs; files are named by content hash. */
  cacheDir: string;
  /**
   * Size cap of `cacheDir` (`WORKER_CACHE_MAX_BYTES`): least recently used files not in use are
   * removed to stay under it. 0 or less: no cap. Default {@link DEFAULT_INPUT_CACHE_MAX_BYTES}.
   */
  cacheMaxBytes?: number;
  /** Size limit of one input file; 0 or less: no limit. */
  maxBytes: number;
  signal?: AbortSignal | undefined;
}

interface CachedFile {
  sizeBytes: number;
  sha256: string;
}

/**
 * Materializes a Cozy file ref: HEAD for its size and digest, GET into the cache on a miss,
 * then a hard link (or copy) into the run's inputs folder. The cache is kept under its cap.
 */
export async function downloadCozyRef(ref: string, options: CozyDownloadOptions): Promise<AssetInfo> {
  const { api, maxBytes, signal } = options;
  if (api === undefined) throw fileApiRequiredError();
  const fileRef = ref.trim().replace(/^\//, "");
  const metadata = await api.head(fileRef, { signal });
  if (maxBytes > 0 && metadata.sizeBytes !== undefined && metadata.sizeBytes > maxBytes) {
    throw new ResourceError(`input file too large: ${metadata.sizeBytes} bytes (max ${maxBytes})`);
  }

  const key = (metadata.sha256 ?? createHash("sha256").update(fileRef).digest("hex")).slice(0, 32);
  const name = key + fileExtension(fileRef, metadata.mimeType);
  const cache = inputCache(options.cacheDir);
  const localPath = resolve(options.runInputsDir, name);
  // Pinned until linked into the run: an eviction for another run must not remove it in between.
  const release = cache.pin(name);
  let file: CachedFile;
  try {
    file =
      (await fromCache(cache, name, metadata, localPath)) ??
      (await intoCache(cache, name, fileRef, metadata, localPath, options));
  } finally {
    release();
  }
  return {
    ref,
    localPath,
    mimeType: metadata.mimeType ?? (await sniffFileMime(localPath)),
    ...file,
  };
}

/** The cached file linked into the run, when the cache holds this content. */
async function fromCache(
  cache: InputCache,
  name: string,
  metadata: FileMetadata,
  localPath: string,
): Promise<CachedFile | undefined> {
  // Only a content-addressed entry can be reused: a ref may be overwritten with new content.
  if (metadata.sha256 === undefined) return undefined;
  const cachePath = join(cache.dir, name);
  const sizeBytes = await cachedFileSize(cachePath, metadata.sizeBytes);
  if (sizeBytes === undefined) return undefined;
  await cache.used(name, sizeBytes);
  try {
    await placeInRun(cachePath, localPath, sizeBytes);
  } catch (error) {
    // Another worker sharing the folder evicted it in between: fetch it again.
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
  return { sizeBytes, sha256: metadata.sha256 };
}

/** Downloads the file into the cache, making room for it first, and links it into the run. */
async function intoCache(
  cache: InputCache,
  name: string,
  fileRef: string,
  metadata: FileMetadata,
  localPath: string,
  options: CozyDownloadOptions,
): Promise<CachedFile> {
  const api = options.api as FileApiClient;
  const cap = options.cacheMaxBytes ?? DEFAULT_INPUT_CACHE_MAX_BYTES;
  const cachePath = join(cache.dir, name);
  await cache.makeRoom(cap, metadata.sizeBytes ?? 0);
  const written = await api.download(fileRef, cachePath, {
    maxBytes: options.maxBytes,
    signal: options.signal,
    expectedSha256: metadata.sha256,
    expectedBytes: metadata.sizeBytes,
    diskFullAdvice: INPUT_CACHE_FULL,
  });
  // Run folders share the cached inode, so a handler must not be able to edit it by accident.
  await chmod(cachePath, 0o444);
  await cache.used(name, written.sizeBytes);
  await cache.makeRoom(cap);
  await placeInRun(cachePath, localPath, written.sizeBytes);
  return { sizeBytes: written.sizeBytes, sha256: written.sha256 };
}

function fileExtension(ref: string, mimeType: string | undefined): string {
  const fromRef = extname(ref);
  if (/^\.[A-Za-z0-9]{1,10}$/.test(fromRef)) return fromRef.toLowerCase();
  const fromMime = mimeType === undefined ? undefined : extensionForMime(mimeType);
  return fromMime === undefined ? "" : `.${fromMime}`;
}

async function cachedFileSize(path: string, expectedSize: number | undefined): Promise<number | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile() || (expectedSize !== undefined && info.size !== expectedSize)) return undefined;
    return info.size;
  } catch {
    return undefined;
  }
}

/** Places the file atomically (a hard link, else a copy), replacing whatever was at `dest`. */
async function placeInRun(source: string, dest: string, sizeBytes: number): Promise<void> {
  const dir = dirname(dest);
  const tempPath = join(dir, `.${randomUUID()}.part`);
  try {
    await mkdir(dir, { recursive: true });
    try {
      await link(source, tempPath);
    } catch {
      await copyFile(source, tempPath);
    }
    await rename(tempPath, dest);
  } catch (error) {
    await rm(tempPath, { force: true });
    throw (
      (await inputDiskFullError(error, {
        dir,
        neededBytes: sizeBytes,
        writtenBytes: 0,
        advice: RUN_DIR_FULL,
      })) ?? error
    );
  }
}
