import { readFile, stat } from "node:fs/promises";
import { ResourceError } from "../../contract/errors.js";
import type { Asset } from "../../contract/handler-api.js";

/** What is known of a file: its ref and, once materialized or saved, its local copy and digest. */
export interface AssetInfo {
  ref: string;
  owner?: string | null;
  localPath?: string | null;
  mimeType?: string | null;
  sizeBytes?: number | null;
  sha256?: string | null;
}

/** The wire (JSON) form of an asset, as in the manifests' `$defs.Asset`. */
export interface AssetWire {
  ref: string;
  owner?: string | null;
  local_path?: string | null;
  mime_type?: string | null;
  size_bytes?: number | null;
  sha256?: string | null;
}

export class RuntimeAsset implements Asset {
  readonly ref: string;
  readonly owner: string | null;
  readonly localPath: string | null;
  readonly mimeType: string | null;
  readonly sizeBytes: number | null;
  readonly sha256: string | null;

  constructor(info: AssetInfo) {
    this.ref = info.ref;
    this.owner = info.owner ?? null;
    this.localPath = info.localPath ?? null;
    this.mimeType = info.mimeType ?? null;
    this.sizeBytes = info.sizeBytes ?? null;
    this.sha256 = info.sha256 ?? null;
  }

  async readBytes(maxBytes?: number): Promise<Uint8Array> {
    const path = this.requireLocalPath();
    if (maxBytes !== undefined) {
      const { size } = await stat(path);
      if (size > maxBytes) throw tooLarge(size, maxBytes);
    }
    const data = await readFile(path);
    // The file may have grown between stat and read.
    if (maxBytes !== undefined && data.byteLength > maxBytes) throw tooLarge(data.byteLength, maxBytes);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  async exists(): Promise<boolean> {
    if (this.localPath === null) return false;
    try {
      return (await stat(this.localPath)).isFile();
    } catch {
      return false;
    }
  }

  toJSON(): Required<AssetWire> {
    return {
      ref: this.ref,
      owner: this.owner,
      local_path: this.localPath,
      mime_type: this.mimeType,
      size_bytes: this.sizeBytes,
      sha256: this.sha256,
    };
  }

  private requireLocalPath(): string {
    if (this.localPath === null) {
      throw new Error(`asset is not materialized: ${this.ref} has no local file`);
    }
    return this.localPath;
  }
}

/** Whether a decoded JSON value has the shape of an asset (an object with a string `ref`). */
export function isAssetWire(value: unknown): value is AssetWire {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { ref?: unknown }).ref === "string"
  );
}

function tooLarge(size: number, maxBytes: number): ResourceError {
  return new ResourceError(`asset too large to read into memory (${size} bytes, max ${maxBytes})`);
}
