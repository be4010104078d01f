import { createHash, type Hash } from "node:crypto";
import { closeSync, createReadStream, openSync, writeSync } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import pRetry from "p-retry";
import { type Dispatcher, interceptors } from "undici";
import { AuthError } from "../../contract/errors.js";
import { UserError } from "../../contract/user-errors.js";
import { singleHeader, transientNetworkCode } from "../../util/io-errors.js";
import { DiskFullError, freeBytes, isDiskFull } from "./disk-full.js";
import { downloadAgent, viaProxy } from "./download-agent.js";
import { type StreamedResponse, streamedGet } from "./streamed-get.js";

export interface DownloadFileOptions {
  /** Bytes the file must have; also bounds the transfer. */
  expectedSize?: number;
  /** Hex sha256 of the whole file (an LFS oid). */
  expectedSha256?: string;
  /** Hex blake3 of the whole file (Cozy manifests). */
  expectedBlake3?: string;
  /**
   * Git's blob id of the whole file: hex sha1 of `blob <size>\0` and the content (Hugging Face's
   * `blobId` of a file outside LFS). Used only with `expectedSize`.
   */
  expectedGitOid?: string;
  /** Request headers (an `Authorization` header is dropped on a redirect to another origin). */
  headers?: Record<string, string>;
  /** Tries after the first one, on network errors, silence, short bodies, HTTP 408, 429 and 5xx. Default 4. */
  retries?: number;
  /** First backoff; it doubles each retry, times a random factor of 1 to 2, at most 30 s. Default 500 ms. */
  retryBaseDelayMs?: number;
  /** Longest silence allowed while waiting for headers or between body chunks. Default 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called as bytes land on disk: bytes of the file so far (a resumed part included) and the total when known. */
  onProgress?: (bytes: number, total: number | undefined) => void;
  /** Default: `downloadAgent()` (a proxy from the environment, or reused read buffers); redirects are followed on top of it. */
  dispatcher?: Dispatcher;
}

export interface DownloadFileResult {
  bytes: number;
  /** Hex sha256 of the whole file, when `expectedSha256` was given. */
  sha256?: string;
  /** Hex blake3 of the whole file, when `expectedBlake3` was given. */
  blake3?: string;
  /** Git's blob id of the whole file, when `expectedGitOid` (and `expectedSize`) was given. */
  gitOid?: string;
  /** True when bytes kept from an earlier try or process (the `.part`) are part of the result. */
  resumed: boolean;
}

/** A download that failed; `url` has its query string removed (presigned URLs carry credentials there). */
export class DownloadError extends UserError {
  constructor(
    message: string,
    readonly url: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
  /** Milliseconds the server asked to wait (`Retry-After`). */
  retryAfterMs?: number;
}

/** HTTP 404 or 410: retrying cannot help. */
export class DownloadNotFoundError extends DownloadError {}

type IntegrityCheck = "size" | "sha256" | "blake3" | "git blob id";

/** The file arrived but its size or a hash differs from the expected one. */
export class DownloadIntegrityError extends DownloadError {
  constructor(
    url: string,
    readonly check: IntegrityCheck,
    readonly expected: string,
    readonly actual: string,
    retryable: boolean,
    detail?: string,
  ) {
    super(
      `${check} mismatch for ${url}: expected ${expected}, got ${actual}${detail ? ` (${detail})` : ""}`,
      url,
      retryable,
    );
  }
}

/** Progress is reported at most once per this many bytes. */
const PROGRESS_BYTES = 1024 * 1024;
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Downloads `url` to `dest` through `<dest>.part`: resumes an existing part with `Range` (a server
 * that answers 200 restarts it from zero), retries passing failures with backoff, checks the size and
 * hashes over the whole file, then fsyncs and renames the part to `dest`. A part is resumed only when
 * a hash will check the whole file (sha256, blake3, or a git blob id with the size): a size alone
 * cannot tell a spliced file, so without a hash every try starts from zero. On failure or abort only
 * the `.part` can remain, never a `dest` that looks complete; a part that failed a check is deleted,
 * and so is one the disk had no room for ({@link DiskFullError}).
 */
export async function downloadFile(
  url: string,
  dest: string,
  options: DownloadFileOptions = {},
): Promise<DownloadFileResult> {
  const shownUrl = redactUrl(url);
  const part = `${dest}.part`;
  await mkdir(dirname(dest), { recursive: true });
  const dispatcher = (options.dispatcher ?? downloadAgent()).compose(
    interceptors.redirect({ maxRedirections: 10 }),
  );
  const signal = options.signal;
  const transfer = new Transfer(url, shownUrl, part, dest, options, dispatcher);
  return pRetry(() => transfer.run(), {
    retries: options.retries ?? 4,
    minTimeout: options.retryBaseDelayMs ?? 500,
    factor: 2,
    maxTimeout: 30_000,
    randomize: true,
    ...(signal === undefined ? {} : { signal }),
    shouldRetry: ({ error }) => signal?.aborted !== true && isRetryable(error),
    onFailedAttempt: async ({ error, retriesLeft }) => {
      if (retriesLeft <= 0 || signal?.aborted || !isRetryable(error)) return;
      const wait = error instanceof DownloadError ? error.retryAfterMs : undefined;
      if (wait === undefined || wait <= 0) return;
      // An abort during the wait ends the download with the signal's reason, as everywhere else.
      await sleep(wait, undefined, signal ? { signal } : {}).catch(() => signal?.throwIfAborted());
    },
  });
}

/** The hashes a download checks; only those asked for are computed (hashing costs more CPU than receiving). */
class Hashers {
  private sha256: Hash | undefined;
  // Native BLAKE3 (SIMD): a WebAssembly one hashed slower than a download arrives.
  private readonly blake3: Blake3Hasher | undefined;
  private gitOid: Hash | undefined;

  /** `gitOidSize`: the size the git blob header names (the expected size), when a git blob id is checked. */
  constructor(private readonly want: { sha256: boolean; blake3: boolean; gitOidSize: number | undefined }) {
    this.sha256 = want.sha256 ? createHash("sha256") : undefined;
    this.blake3 = want.blake3 ? new Blake3Hasher() : undefined;
    this.gitOid = gitBlobHash(want.gitOidSize);
  }

  /** Whether a hash checks the whole file, so that bytes from an earlier transfer can be trusted. */
  get verifies(): boolean {
    return this.sha256 !== undefined || this.blake3 !== undefined || this.gitOid !== undefined;
  }

  update(chunk: Buffer): void {
    this.sha256?.update(chunk);
    this.blake3?.update(chunk);
    this.gitOid?.update(chunk);
  }

  /** Starts over from zero bytes. */
  reset(): void {
    if (this.sha256 !== undefined) this.sha256 = createHash("sha256");
    this.blake3?.reset();
    this.gitOid = gitBlobHash(this.want.gitOidSize);
  }

  digest(): { sha256?: string; blake3?: string; gitOid?: string } {
    const sha256 = this.sha256?.digest("hex");
    const blake3 = this.blake3?.digest("hex");
    const gitOid = this.gitOid?.digest("hex");
    return {
      ...(sha256 === undefined ? {} : { sha256 }),
      ...(blake3 === undefined ? {} : { blake3 }),
      ...(gitOid === undefined ? {} : { gitOid }),
    };
  }
}

/** Git's blob hash, its header written: sha1 of `blob <size>\0<content>`. */
function gitBlobHash(size: number | undefined): Hash | undefined {
  return size === undefined ? undefined : createHash("sha1").update(`blob ${size}\0`);
}

/** One file's download; `run` is one try and picks up what earlier tries left in the part. */
class Transfer {
  /** Set when a check failed on a file made of more than one transfer; the retry starts from zero once. */
  private restartedAfterMismatch = false;

  constructor(
    private readonly url: string,
    private readonly shownUrl: string,
    private readonly part: string,
    private readonly dest: string,
    private readonly options: DownloadFileOptions,
    private readonly dispatcher: Dispatcher,
  ) {}

  async run(): Promise<DownloadFileResult> {
    const { expectedSize, expectedSha256, expectedBlake3, expectedGitOid } = this.options;
    const hashers = new Hashers({
      sha256: expectedSha256 !== undefined,
      blake3: expectedBlake3 !== undefined,
      gitOidSize: expectedGitOid === undefined ? undefined : expectedSize,
    });
    let offset = await fileSize(this.part);
    // Without a hash over the whole file, a resumed part could be joined to another version's bytes.
    if ((expectedSize !== undefined && offset > expectedSize) || (offset > 0 && !hashers.verifies)) {
      await rm(this.part, { force: true });
      offset = 0;
    }
    if (offset > 0) await hashFile(this.part, hashers);
    if (offset > 0 && offset === expectedSize) return this.finish(hashers, offset, true);

    let response = await this.get(offset);
    if (offset > 0 && response.statusCode === 206) {
      const range = parseContentRange(response.headers["content-range"]);
      if (range?.start !== offset) {
        // A range other than the one asked for: drop the part and ask for the whole file.
        response.discard();
        await rm(this.part, { force: true });
        offset = 0;
        hashers.reset();
        response = await this.get(0);
      }
    } else if (offset > 0 && response.statusCode === 416) {
      const range = parseContentRange(response.headers["content-range"]);
      response.discard();
      // The part already holds the whole file (size unknown to us), or it is not a prefix of it.
      if (range?.total === offset) return this.finish(hashers, offset, true);
      await rm(this.part, { force: true });
      throw new DownloadError(
        `${this.shownUrl} refused the resume range; restarting`,
        this.shownUrl,
        true,
        416,
      );
    } else if (offset > 0 && response.statusCode === 200) {
      // The server ignored Range and sends the whole file: start the part over from zero.
      offset = 0;
      hashers.reset();
    }
    this.checkStatus(response, offset);
    const total = this.totalOf(response, offset);
    if (expectedSize !== undefined && total !== undefined && total !== expectedSize) {
      response.discard();
      await rm(this.part, { force: true });
      throw new DownloadIntegrityError(
        this.shownUrl,
        "size",
        String(expectedSize),
        String(total),
        false,
        "announced by the server",
      );
    }
    const wanted = total ?? expectedSize;
    const size = await this.receive(response, offset, wanted, hashers);
    if (wanted !== undefined && size < wanted) {
      // Kept in the part: the next try resumes after it.
      throw new DownloadError(
        `${this.shownUrl}: body ended at ${size} of ${wanted} bytes`,
        this.shownUrl,
        true,
      );
    }
    return this.finish(hashers, size, offset > 0);
  }

  private async get(offset: number): Promise<StreamedResponse> {
    const { timeoutMs = 30_000, signal } = this.options;
    const headers: Record<string, string> = { ...this.options.headers };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    try {
      return await streamedGet(this.dispatcher, this.url, {
        headers,
        timeoutMs,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      throw this.networkError(error);
    }
  }

  private checkStatus(response: StreamedResponse, offset: number): void {
    const status = response.statusCode;
    if (status === (offset > 0 ? 206 : 200)) return;
    response.discard();
    const url = this.shownUrl;
    if (status === 401 || status === 403) {
      throw new AuthError(
        `download of ${url} was refused with HTTP ${status}: the token is missing or lacks access, ` +
          "or the presigned URL has expired (ask for fresh URLs)",
      );
    }
    if (status === 404 || status === 410) {
      throw new DownloadNotFoundError(
        `download of ${url} failed: not found (HTTP ${status})`,
        url,
        false,
        status,
      );
    }
    const retryable = status === 408 || status === 429 || status >= 500;
    const error = new DownloadError(`download of ${url} failed with HTTP ${status}`, url, retryable, status);
    const retryAfter = parseRetryAfter(response.headers["retry-after"]);
    if (retryAfter !== undefined) error.retryAfterMs = retryAfter;
    throw error;
  }

  /** The size of the whole file as announced by the response, if it says. */
  private totalOf(response: StreamedResponse, offset: number): number | undefined {
    if (response.statusCode === 206) {
      const total = parseContentRange(response.headers["content-range"])?.total;
      if (total !== undefined) return total;
    }
    const text = singleHeader(response.headers["content-length"]);
    const length = Number(text);
    return text !== undefined && Number.isSafeInteger(length) ? offset + length : undefined;
  }

  /**
   * Streams the body into the part (appending after `offset`); returns the part's final size.
   * Each chunk is hashed and written as it arrives, with a synchronous write: it must be, since the
   * chunk's buffer is reused by a later read (download-agent.ts); a 64 KiB write to the page cache
   * holds the event loop for microseconds; and every byte that arrived is in the part when a
   * connection drops, for the next try to resume after.
   */
  private async receive(
    response: StreamedResponse,
    offset: number,
    total: number | undefined,
    hashers: Hashers,
  ): Promise<number> {
    const { expectedSize, onProgress } = this.options;
    let fd: number;
    try {
      fd = openSync(this.part, offset > 0 ? "a" : "w");
    } catch (error) {
      // Unread, the body would pile up in memory until it ends.
      response.discard();
      throw await this.diskFull(error, total);
    }
    let size = offset;
    let reported = offset;
    try {
      try {
        await response.consume((chunk) => {
          if (expectedSize !== undefined && size + chunk.length > expectedSize) {
            throw new DownloadIntegrityError(
              this.shownUrl,
              "size",
              String(expectedSize),
              `more than ${expectedSize}`,
              false,
              "download exceeded expected size",
            );
          }
          hashers.update(chunk);
          writeAll(fd, chunk);
          size += chunk.length;
          if (size - reported >= PROGRESS_BYTES) {
            reported = size;
            onProgress?.(size, total);
          }
        });
      } finally {
        // Closed before any removal below, so that a removed part's blocks are free at once.
        closeSync(fd);
      }
      onProgress?.(size, total);
      return size;
    } catch (error) {
      // A body longer than announced is wrong from the start: nothing of it is kept.
      if (error instanceof DownloadIntegrityError) await rm(this.part, { force: true });
      throw this.networkError(await this.diskFull(error, total));
    }
  }

  /**
   * A full disk becomes a {@link DiskFullError}, its part removed: kept, it would hold the disk
   * full, and the next download (of any file) would fail too. Other errors are returned as they are.
   */
  private async diskFull(error: unknown, total: number | undefined): Promise<unknown> {
    if (!isDiskFull(error)) return error;
    await rm(this.part, { force: true });
    const dir = dirname(this.dest);
    const needed = this.options.expectedSize ?? total;
    return new DiskFullError(this.dest, needed, dir, await freeBytes(dir), { cause: error });
  }

  private async finish(hashers: Hashers, size: number, resumed: boolean): Promise<DownloadFileResult> {
    const { expectedSize, expectedSha256, expectedBlake3, expectedGitOid } = this.options;
    const { sha256, blake3, gitOid } = hashers.digest();
    const mismatch = async (check: IntegrityCheck, expected: string, actual: string) => {
      await rm(this.part, { force: true });
      // A file joined from several transfers may hold a stale or foreign prefix: one fresh try.
      const retryable = resumed && !this.restartedAfterMismatch;
      if (retryable) this.restartedAfterMismatch = true;
      return new DownloadIntegrityError(this.shownUrl, check, expected, actual, retryable);
    };
    if (expectedSize !== undefined && size !== expectedSize) {
      throw await mismatch("size", String(expectedSize), String(size));
    }
    if (expectedSha256 !== undefined && sha256 !== expectedSha256.toLowerCase()) {
      throw await mismatch("sha256", expectedSha256.toLowerCase(), sha256 ?? "");
    }
    if (expectedBlake3 !== undefined && blake3 !== expectedBlake3.toLowerCase()) {
      throw await mismatch("blake3", expectedBlake3.toLowerCase(), blake3 ?? "");
    }
    if (gitOid !== undefined && gitOid !== expectedGitOid?.toLowerCase()) {
      throw await mismatch("git blob id", expectedGitOid?.toLowerCase() ?? "", gitOid);
    }
    try {
      await syncFile(this.part);
    } catch (error) {
      // Some file systems allocate blocks only when the data is flushed.
      throw await this.diskFull(error, size);
    }
    await rename(this.part, this.dest);
    await syncDirectory(dirname(this.dest));
    return {
      bytes: size,
      ...(sha256 === undefined ? {} : { sha256 }),
      ...(blake3 === undefined ? {} : { blake3 }),
      ...(gitOid === undefined ? {} : { gitOid }),
      resumed,
    };
  }

  /** An abort becomes the signal's reason; a network failure becomes a retryable DownloadError. */
  private networkError(error: unknown): unknown {
    const signal = this.options.signal;
    if (signal?.aborted) return signal.reason;
    if (error instanceof DownloadError || error instanceof AuthError) return error;
    const code = transientNetworkCode(error);
    if (code !== undefined) {
      const reason = error instanceof Error ? error.message : String(error);
      return new DownloadError(
        `download of ${this.shownUrl}${viaProxy(this.options.dispatcher ?? downloadAgent())} failed: ${reason} (${code})`,
        this.shownUrl,
        true,
        undefined,
        {
          cause: error,
        },
      );
    }
    return error;
  }
}

function isRetryable(error: unknown): boolean {
  return error instanceof DownloadError && error.retryable;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
}

function writeAll(fd: number, chunk: Buffer): void {
  for (let written = 0; written < chunk.length; ) written += writeSync(fd, chunk, written);
}

async function hashFile(path: string, hashers: Hashers): Promise<void> {
  for await (const data of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    hashers.update(data as Buffer);
  }
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the rename durable; some platforms cannot fsync a folder, which is then left as is. */
async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, "r");
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** `bytes <start>-<end>/<total|*>` or `bytes *\/<total>`. */
function parseContentRange(
  value: string | string[] | undefined,
): { start: number | undefined; total: number | undefined } | undefined {
  const match = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(singleHeader(value)?.trim() ?? "");
  if (match === null) return undefined;
  const start = match[1] === undefined ? undefined : Number(match[1]);
  const total = match[3] === undefined || match[3] === "*" ? undefined : Number(match[3]);
  return { start, total };
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const text = singleHeader(value)?.trim();
  if (!text) return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

/** The URL without its query and fragment, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url.split(/[?#]/)[0] ?? url;
  }
}
