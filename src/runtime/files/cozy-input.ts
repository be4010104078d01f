import { createHash, randomUUID } from "node:crypto";
import { chmod, copyFile, link, mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { ResourceError } from "../../contract/errors.js";
import type { AssetInfo } from "./asset.js";
import { type FileApiClient, fileApiRequiredError } from "./file-api.js";
import { extensionForMime, sniffFileMime } from "./mime.js";

export interface CozyDownloadOptions {
  api: FileApiClient | undefined;
  runInputsDir: string;
  /** Shared between runs; files are named by content hash. */
  cacheDir: string;
  /** 0 or less: no limit. */
  maxBytes: number;
  signal?: AbortSignal | undefined;
}

/**
 * Materializes a Cozy file ref: HEAD for its size and digest, GET into the cache on a miss,
 * then a hard link (or copy) into the run's inputs folder.
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
  const cachePath = resolve(options.cacheDir, key + fileExtension(fileRef, metadata.mimeType));
  // Only a content-addressed entry can be reused: a ref may be overwritten with new content.
  const cachedSize =
    metadata.sha256 === undefined ? undefined : await cachedFileSize(cachePath, metadata.sizeBytes);
  let sizeBytes: number;
  let sha256: string;
  if (cachedSize !== undefined && metadata.sha256 !== undefined) {
    sizeBytes = cachedSize;
    sha256 = metadata.sha256;
  } else {
    const written = await api.download(fileRef, cachePath, {
      maxBytes,
      signal,
      expectedSha256: metadata.sha256,
    });
    // Run folders share the cached inode, so a handler must not be able to edit it by accident.
    await chmod(cachePath, 0o444);
    sizeBytes = written.sizeBytes;
    sha256 = written.sha256;
  }

  const localPath = resolve(options.runInputsDir, basename(cachePath));
  await linkOrCopy(cachePath, localPath);
  return {
    ref,
    localPath,
    mimeType: metadata.mimeType ?? (await sniffFileMime(localPath)),
    sizeBytes,
    sha256,
  };
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

/** Places the file atomically, replacing whatever was at `dest`. */
async function linkOrCopy(source: string, dest: string): Promise<void> {
  const dir = dirname(dest);
  await mkdir(dir, { recursive: true });
  const tempPath = join(dir, `.${randomUUID()}.part`);
  try {
    try {
      await link(source, tempPath);
    } catch {
      await copyFile(source, tempPath);
    }
    await rename(tempPath, dest);
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }
}
