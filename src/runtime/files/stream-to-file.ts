import { createHash, randomUUID } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ResourceError, RetryableError } from "../../contract/errors.js";
import { inputDiskFullError } from "./disk-full.js";
import { SNIFF_BYTES } from "./mime.js";

/** What a full disk's message advises when the caller says nothing more fitting. */
const FREE_SPACE = "free space on that disk";

export interface StreamToFileOptions {
  /** 0 or less: no limit. */
  maxBytes: number;
  /** When given, the file is refused (and not renamed into place) unless its sha256 matches. */
  expectedSha256?: string;
  /** The size the sender announced, for the message when the disk fills up. */
  expectedBytes?: number | undefined;
  /** What to do when the disk fills up (the message says how much and where first). */
  diskFullAdvice?: string;
}

export interface WrittenFile {
  sizeBytes: number;
  sha256: string;
  /** The first bytes, for sniffing the media type. */
  head: Uint8Array;
}

/**
 * Writes a byte stream to a temporary file beside `destPath` and renames it into place, so the
 * destination never holds a partial file, and removes the temporary file on any failure (a full
 * disk included: it would only keep the disk full). The size limit is enforced while streaming,
 * whatever the sender announced.
 */
export async function streamToFile(
  body: AsyncIterable<Uint8Array>,
  destPath: string,
  options: StreamToFileOptions,
): Promise<WrittenFile> {
  const tempPath = join(dirname(destPath), `.${basename(destPath)}.${randomUUID()}.part`);
  const hash = createHash("sha256");
  const head = new Uint8Array(SNIFF_BYTES);
  let headLength = 0;
  let sizeBytes = 0;
  try {
    await mkdir(dirname(destPath), { recursive: true });
    const handle = await open(tempPath, "wx");
    try {
      for await (const chunk of body) {
        sizeBytes += chunk.byteLength;
        if (options.maxBytes > 0 && sizeBytes > options.maxBytes) {
          throw new ResourceError(`input file too large: more than ${options.maxBytes} bytes`);
        }
        if (headLength < SNIFF_BYTES) {
          const take = chunk.subarray(0, SNIFF_BYTES - headLength);
          head.set(take, headLength);
          headLength += take.byteLength;
        }
        hash.update(chunk);
        await handle.write(chunk);
      }
    } finally {
      await handle.close();
    }
    const sha256 = hash.digest("hex");
    if (options.expectedSha256 !== undefined && sha256 !== options.expectedSha256) {
      throw new RetryableError(
        `input file checksum mismatch: expected sha256 ${options.expectedSha256}, got ${sha256}`,
      );
    }
    await rename(tempPath, destPath);
    return { sizeBytes, sha256, head: head.slice(0, headLength) };
  } catch (error) {
    await rm(tempPath, { force: true });
    throw (
      (await inputDiskFullError(error, {
        dir: dirname(destPath),
        neededBytes: options.expectedBytes,
        writtenBytes: sizeBytes,
        advice: options.diskFullAdvice ?? FREE_SPACE,
      })) ?? error
    );
  }
}
