import type { IncomingHttpHeaders } from "node:http";
import { type Dispatcher, request } from "undici";
import { AuthError, RetryableError, ValidationError } from "../../contract/errors.js";
import { singleHeader, transferFailure } from "../../util/io-errors.js";
import { type StreamToFileOptions, streamToFile, type WrittenFile } from "./stream-to-file.js";

export const FILE_API_REQUIRED_MESSAGE =
  "FILE_API_BASE_URL is required for file operations: set it, or pass file_base_url with the task";

/** The same problem on the dev runner, whose file API comes from `--files`. */
export const DEV_RUNNER_FILE_API_MESSAGE =
  "the dev runner has no file API to read it from: start the runner with --files <dir> to serve input files from a folder";

export function fileApiRequiredError(): ValidationError {
  return new ValidationError(FILE_API_REQUIRED_MESSAGE);
}

/**
 * A run's message as the dev runner tells it: the worker's advice about a missing file API (an
 * environment variable, a task field) replaced by the runner's own (`--files`).
 */
export function withDevRunnerFileApiHint(message: string): string {
  return message.replace(FILE_API_REQUIRED_MESSAGE, DEV_RUNNER_FILE_API_MESSAGE);
}

export interface FileApiClientOptions {
  baseUrl: string;
  token?: string | undefined;
  owner?: string | undefined;
  /** Longest wait for response headers, and between two chunks of a body. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

/** What the file API tells about a stored file. */
export interface FileMetadata {
  sha256?: string;
  sizeBytes?: number;
  mimeType?: string;
}

export interface DownloadOptions {
  /** 0 or less: no limit. */
  maxBytes: number;
  signal?: AbortSignal | undefined;
  expectedSha256?: string | undefined;
  /** The size HEAD announced, for the message when the disk fills up. */
  expectedBytes?: number | undefined;
  /** What to do when the disk fills up (the message says how much and where first). */
  diskFullAdvice?: string;
}

type Operation = "save" | "read";

/** A client of the Cozy file API: `/api/v1/file/<ref>` with bearer auth and the owner header. */
export class FileApiClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly owner: string | undefined;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher | undefined;

  constructor(options: FileApiClientOptions) {
    if (!/^https?:\/\/[^/]/i.test(options.baseUrl) || !URL.canParse(options.baseUrl)) {
      throw new ValidationError("file API base URL must be an http(s) URL");
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.token = options.token;
    this.owner = options.owner;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.dispatcher = options.dispatcher;
  }

  fileUrl(ref: string): string {
    return `${this.baseUrl}/api/v1/file/${encodeRef(ref)}`;
  }

  /** Stores `data` under `ref`: PUT replaces a file, POST only creates one. */
  async upload(
    ref: string,
    data: Uint8Array,
    options: { createOnly: boolean; signal?: AbortSignal | undefined },
  ): Promise<FileMetadata> {
    const response = await this.send("save", ref, {
      method: options.createOnly ? "POST" : "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: data,
      signal: options.signal,
    });
    if (response.statusCode === 409 && options.createOnly) {
      await response.body.dump();
      throw new ValidationError(`output path already exists: ${ref}`);
    }
    await this.throwUnlessOk("save", response);
    return metadataFromJson(await readJson(response.body));
  }

  async head(ref: string, options: { signal?: AbortSignal | undefined } = {}): Promise<FileMetadata> {
    const response = await this.send("read", ref, { method: "HEAD", signal: options.signal });
    await this.throwUnlessFound(ref, response);
    await response.body.dump();
    return metadataFromHeaders(response.headers);
  }

  /** Streams the file to `destPath` (through a temporary file), enforcing `maxBytes`. */
  async download(ref: string, destPath: string, options: DownloadOptions): Promise<WrittenFile> {
    const response = await this.send("read", ref, { method: "GET", signal: options.signal });
    await this.throwUnlessFound(ref, response);
    const streamOptions: StreamToFileOptions = {
      maxBytes: options.maxBytes,
      expectedBytes: options.expectedBytes,
      ...(options.expectedSha256 === undefined ? {} : { expectedSha256: options.expectedSha256 }),
      ...(options.diskFullAdvice === undefined ? {} : { diskFullAdvice: options.diskFullAdvice }),
    };
    try {
      return await streamToFile(response.body, destPath, streamOptions);
    } catch (error) {
      throw transportError("read", error, options.signal);
    }
  }

  private async send(
    operation: Operation,
    ref: string,
    init: {
      method: "GET" | "HEAD" | "PUT" | "POST";
      headers?: Record<string, string>;
      body?: Uint8Array;
      signal: AbortSignal | undefined;
    },
  ): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (this.owner !== undefined) headers["x-cozy-owner"] = this.owner;
    try {
      return await request(this.fileUrl(ref), {
        method: init.method,
        headers,
        body: init.body,
        signal: init.signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }),
      });
    } catch (error) {
      throw transportError(operation, error, init.signal);
    }
  }

  private async throwUnlessFound(ref: string, response: Dispatcher.ResponseData): Promise<void> {
    if (response.statusCode === 404) {
      await response.body.dump();
      throw new ValidationError(`input file not found: ${ref}`);
    }
    await this.throwUnlessOk("read", response);
  }

  private async throwUnlessOk(operation: Operation, response: Dispatcher.ResponseData): Promise<void> {
    const status = response.statusCode;
    if (status >= 200 && status < 300) return;
    await response.body.dump();
    if (status === 401 || status === 403) {
      throw new AuthError(`file ${operation} unauthorized (${status}): check file_token validity`);
    }
    const message = `file ${operation} failed (${status})`;
    if (status >= 500 || status === 429) throw new RetryableError(message);
    throw new Error(message);
  }
}

/** Each path segment percent-encoded with no safe characters; dot segments are refused. */
export function encodeRef(ref: string): string {
  const segments = ref.split("/");
  for (const segment of segments) {
    if (segment === "" || segment === "." || segment === "..") {
      throw new ValidationError(`invalid file ref ${JSON.stringify(ref)}: empty, '.' or '..' segment`);
    }
    if (segment.includes("\0") || segment.includes("\\")) {
      throw new ValidationError(`invalid file ref ${JSON.stringify(ref)}: NUL or '\\'`);
    }
  }
  return segments.map(encodeSegment).join("/");
}

function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Network failures and timeouts may pass; a canceled run's abort is reported as such. */
function transportError(operation: Operation, error: unknown, signal: AbortSignal | undefined): Error {
  return (
    transferFailure(error, signal, `file ${operation} failed`) ??
    (error instanceof Error ? error : new Error(String(error)))
  );
}

async function readJson(body: Dispatcher.ResponseData["body"]): Promise<unknown> {
  const text = await body.text();
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function metadataFromJson(json: unknown): FileMetadata {
  const metadata: FileMetadata = {};
  if (typeof json !== "object" || json === null) return metadata;
  const record = json as Record<string, unknown>;
  const sha256 = parseSha256(record.sha256);
  const sizeBytes = parseSize(record.size_bytes);
  const mimeType = parseMime(record.mime_type);
  if (sha256 !== undefined) metadata.sha256 = sha256;
  if (sizeBytes !== undefined) metadata.sizeBytes = sizeBytes;
  if (mimeType !== undefined) metadata.mimeType = mimeType;
  return metadata;
}

function metadataFromHeaders(headers: IncomingHttpHeaders): FileMetadata {
  return metadataFromJson({
    sha256: singleHeader(headers["x-cozy-sha256"]),
    size_bytes: singleHeader(headers["x-cozy-size-bytes"]),
    mime_type: singleHeader(headers["x-cozy-mime-type"]),
  });
}

/** A sha256 names cache files, so only a real hex digest is accepted. */
function parseSha256(value: unknown): string | undefined {
  return typeof value === "string" && /^[0-9a-f]{64}$/i.test(value.trim())
    ? value.trim().toLowerCase()
    : undefined;
}

function parseSize(value: unknown): number | undefined {
  const size = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value;
  return typeof size === "number" && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

function parseMime(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const mime = value.trim();
  return mime !== "" && mime.length <= 255 ? mime : undefined;
}

export interface FileApiRequest {
  fileBaseUrl?: string | undefined;
  fileToken?: string | undefined;
  owner?: string | undefined;
}

/**
 * The file API of a task: its own base URL and token, else the worker's default (`FILE_API_BASE_URL`,
 * `ORCHESTRATOR_HTTP_URL` or `COZY_HUB_URL`; `FILE_API_TOKEN` or `COZY_HUB_TOKEN`). Undefined without
 * a base URL.
 */
export function resolveFileApi(
  request: FileApiRequest,
  fallback: { baseUrl?: string; token?: string },
): FileApiClient | undefined {
  const baseUrl = firstSet(request.fileBaseUrl, fallback.baseUrl);
  if (baseUrl === undefined) return undefined;
  return new FileApiClient({
    baseUrl,
    token: firstSet(request.fileToken, fallback.token),
    owner: firstSet(request.owner),
  });
}

function firstSet(...values: (string | undefined)[]): string | undefined {
  for (const value of values) {
    if (value !== undefined && value.trim() !== "") return value.trim();
  }
  return undefined;
}
