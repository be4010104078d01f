import { createHash, randomUUID } from "node:crypto";
import { link, lstat, mkdir, readFile, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { ResourceError, ValidationError } from "../../contract/errors.js";
import { errorCode } from "../../util/io-errors.js";
import { RuntimeAsset } from "./asset.js";
import type { FileApiClient } from "./file-api.js";
import { sniffMime } from "./mime.js";
import { normalizeOutputRef } from "./output-ref.js";

export interface SaveOptions {
  /** Fail when the ref already exists instead of replacing it. */
  createOnly: boolean;
}

/** Where a run's output files go. */
export interface OutputStore {
  save(ref: string, data: Uint8Array, options: SaveOptions): Promise<RuntimeAsset>;
}

interface StoreOptions {
  runId: string;
  owner?: string | null;
  /** 0 or less: no limit. */
  maxFileBytes: number;
}

export interface LocalOutputStoreOptions extends StoreOptions {
  outputsDir: string;
}

/** Writes outputs under a local folder (the dev runner): `<outputsDir>/runs/<runId>/outputs/...`. */
export class LocalOutputStore implements OutputStore {
  private readonly root: string;

  constructor(private readonly options: LocalOutputStoreOptions) {
    this.root = resolve(options.outputsDir);
  }

  async save(ref: string, data: Uint8Array, options: SaveOptions): Promise<RuntimeAsset> {
    assertBytes(data);
    assertOutputSize(data.byteLength, this.options.maxFileBytes);
    const normalized = normalizeOutputRef(ref, this.options.runId);
    const target = resolve(this.root, normalized);
    if (!isInside(this.root, target)) throw traversal(ref);
    const tempPath = join(dirname(target), `.${randomUUID()}.part`);
    try {
      await this.prepareParent(ref, dirname(target));
      await writeFile(tempPath, data, { flag: "wx" });
      if (options.createOnly) await createExclusively(tempPath, target, normalized);
      else await rename(tempPath, target);
    } catch (error) {
      throw outputPathError(error, normalized);
    } finally {
      await rm(tempPath, { force: true });
    }

    return new RuntimeAsset({
      ref: normalized,
      owner: this.options.owner ?? null,
      localPath: target,
      mimeType: sniffMime(data, target),
      sizeBytes: data.byteLength,
      sha256: createHash("sha256").update(data).digest("hex"),
    });
  }

  /**
   * Creates the parent folder. A symlink anywhere under the outputs folder is refused, even one
   * that stays inside it: the save would land where the link points while the asset's ref and
   * path name another place (another run's folder, say).
   */
  private async prepareParent(ref: string, parent: string): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const realRoot = await realpath(this.root);
    await this.assertNoLink(ref, await deepestExisting(parent), realRoot);
    await mkdir(parent, { recursive: true });
    await this.assertNoLink(ref, parent, realRoot);
  }

  private async assertNoLink(ref: string, path: string, realRoot: string): Promise<void> {
    const real = await realpathOrTraversal(path, ref);
    if (!isInside(realRoot, real, true)) throw traversal(ref);
    if (real === join(realRoot, relative(this.root, path))) return;
    const link = (await firstLink(this.root, path)) ?? path;
    throw new ValidationError(
      `invalid output ref ${JSON.stringify(ref)}: ${relative(this.root, link)} is a symbolic link; saves never follow links inside the outputs folder, so the file would not be where its ref says: remove the link`,
    );
  }
}

export interface RemoteOutputStoreOptions extends StoreOptions {
  api: FileApiClient;
}

/** Uploads outputs through the Cozy file API. */
export class RemoteOutputStore implements OutputStore {
  constructor(private readonly options: RemoteOutputStoreOptions) {}

  async save(ref: string, data: Uint8Array, options: SaveOptions): Promise<RuntimeAsset> {
    assertBytes(data);
    assertOutputSize(data.byteLength, this.options.maxFileBytes);
    const normalized = normalizeOutputRef(ref, this.options.runId);
    const stored = await this.options.api.upload(normalized, data, { createOnly: options.createOnly });
    return new RuntimeAsset({
      ref: normalized,
      owner: this.options.owner ?? null,
      localPath: null,
      mimeType: stored.mimeType ?? sniffMime(data, normalized),
      sizeBytes: stored.sizeBytes ?? data.byteLength,
      sha256: stored.sha256 ?? createHash("sha256").update(data).digest("hex"),
    });
  }
}

/** Reads a local file for `saveFile`, refusing one over the output size limit before reading it. */
export async function readFileForSave(path: string, maxFileBytes: number): Promise<Uint8Array> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ValidationError(`file to save is not a regular file: ${path}`);
    size = info.size;
  } catch (error) {
    if (errorCode(error) === "ENOENT") throw new ValidationError(`file to save not found: ${path}`);
    throw error;
  }
  assertOutputSize(size, maxFileBytes);
  const data = await readFile(path);
  assertOutputSize(data.byteLength, maxFileBytes);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function assertBytes(data: unknown): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(`output data must be a Uint8Array, not ${data === null ? "null" : typeof data}`);
  }
}

function assertOutputSize(size: number, maxFileBytes: number): void {
  if (maxFileBytes > 0 && size > maxFileBytes) {
    throw new ResourceError(`output file too large (${size} bytes, max ${maxFileBytes})`);
  }
}

/** A hard link fails when the target exists, so a concurrent create can never be overwritten. */
async function createExclusively(tempPath: string, target: string, ref: string): Promise<void> {
  try {
    await link(tempPath, target);
  } catch (error) {
    const code = errorCode(error);
    if (code === "EEXIST") throw new ValidationError(`output path already exists: ${ref}`);
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw error;
    // No hard links on this file system: an exclusive create still refuses an existing file.
    const data = await readFile(tempPath);
    try {
      await writeFile(target, data, { flag: "wx" });
    } catch (writeError) {
      if (errorCode(writeError) === "EEXIST") throw new ValidationError(`output path already exists: ${ref}`);
      throw writeError;
    }
  }
}

function outputPathError(error: unknown, ref: string): unknown {
  const code = errorCode(error);
  if (code === "EISDIR" || code === "ENOTEMPTY" || code === "ENOTDIR" || code === "EEXIST") {
    return new ValidationError(`output path is a folder or lies under a file: ${ref}`);
  }
  if (code === "ENAMETOOLONG") {
    return new ValidationError(`output path is too long for this file system: ${ref}: use shorter names`);
  }
  return error;
}

/** The first symlink on the way from `root` down to `path`, if any. */
async function firstLink(root: string, path: string): Promise<string | undefined> {
  let current = root;
  for (const segment of relative(root, path).split(sep)) {
    current = join(current, segment);
    if ((await lstat(current)).isSymbolicLink()) return current;
  }
  return undefined;
}

async function deepestExisting(path: string): Promise<string> {
  let current = path;
  for (;;) {
    try {
      await lstat(current);
      return current;
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
      const parent = dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

/** A dangling symlink cannot be shown to stay inside, so it counts as traversal. */
async function realpathOrTraversal(path: string, ref: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if (errorCode(error) === "ENOENT" || errorCode(error) === "ELOOP") throw traversal(ref);
    throw error;
  }
}

function isInside(root: string, path: string, allowRoot = false): boolean {
  if (path === root) return allowRoot;
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function traversal(ref: string): ValidationError {
  return new ValidationError(`invalid output ref ${JSON.stringify(ref)}: path traversal`);
}
