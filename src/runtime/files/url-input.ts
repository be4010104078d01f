import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { extname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, type buildConnector, type Dispatcher, request } from "undici";
import { ResourceError, RetryableError, ValidationError, WorkerError } from "../../contract/errors.js";
import { abortReason, errorCode, singleHeader, transferFailure } from "../../util/io-errors.js";
import type { AssetInfo } from "./asset.js";
import { RUN_DIR_FULL } from "./disk-full.js";
import { sniffMime } from "./mime.js";
import {
  AllowedHosts,
  blockedHostError,
  canonicalHost,
  effectivePort,
  guardedConnector,
  type HostLookup,
  isBlockedAddress,
} from "./ssrf.js";
import { streamToFile } from "./stream-to-file.js";

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

export interface UrlDownloadOptions {
  destDir: string;
  /** 0 or less: no limit. */
  maxBytes: number;
  /** Attempts in all (default 3); only network errors, 5xx and 429 are tried again. */
  retries?: number;
  /** `host` or `host:port` entries that may resolve to private addresses. */
  allowHosts?: readonly string[];
  signal?: AbortSignal | undefined;
  /** The first retry waits about this long, doubling up to 20 times it (default 500 ms). */
  retryBaseDelayMs?: number;
  /**
   * Longest silence in an attempt (default 30 s): to connect, for the response headers, and
   * between two chunks of the body. A large file may take longer in all; the run's deadline bounds that.
   */
  timeoutMs?: number;
  /** Replaces DNS resolution (tests). */
  lookup?: HostLookup;
  /** Replaces the socket-opening connector under the SSRF guard (tests). */
  connect?: buildConnector.connector;
}

/**
 * Downloads an http(s) input to `<destDir>/<sha256(url)[:32]><ext>`. Every hop of a redirect
 * chain is checked, before connecting and again in the connector on the resolved addresses.
 */
export async function downloadUrl(url: string, options: UrlDownloadOptions): Promise<AssetInfo> {
  const allowed = new AllowedHosts(options.allowHosts ?? []);
  const first = parseInputUrl(url);
  assertHostAllowed(first, allowed);
  const destPath = resolve(
    join(options.destDir, createHash("sha256").update(url).digest("hex").slice(0, 32) + urlExtension(first)),
  );
  const timeoutMs = options.timeoutMs ?? 30_000;
  const agent = new Agent({
    connect: guardedConnector(options.allowHosts ?? [], {
      connectTimeoutMs: timeoutMs,
      ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
      ...(options.connect === undefined ? {} : { connect: options.connect }),
    }),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const attempts = Math.max(1, options.retries ?? 3);
  const baseDelayMs = options.retryBaseDelayMs ?? 500;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const { written, mimeHint } = await downloadOnce(first, destPath, {
          agent,
          allowed,
          maxBytes: options.maxBytes,
          timeoutMs,
          signal: options.signal,
        });
        return {
          ref: url,
          localPath: destPath,
          mimeType: sniffMime(written.head, first.pathname, mimeHint),
          sizeBytes: written.sizeBytes,
          sha256: written.sha256,
        };
      } catch (error) {
        if (!(error instanceof RetryableError)) throw error;
        if (attempt >= attempts) {
          if (attempts === 1) throw error;
          throw new RetryableError(`input download failed after ${attempts} attempts: ${error.message}`, {
            cause: error,
          });
        }
        await sleep(retryDelayMs(attempt, baseDelayMs), undefined, { signal: options.signal }).catch(() => {
          throw options.signal ? abortReason(options.signal) : new Error("retry wait interrupted");
        });
      }
    }
  } finally {
    await agent.destroy();
  }
}

/** `min(20·base, base·2^(n−1)) + jitter(0..0.4·base)`: 0.5 s, 1 s, 2 s … 10 s plus up to 0.2 s. */
export function retryDelayMs(attempt: number, baseDelayMs: number): number {
  return Math.min(20 * baseDelayMs, baseDelayMs * 2 ** (attempt - 1)) + Math.random() * 0.4 * baseDelayMs;
}

interface AttemptContext {
  agent: Dispatcher;
  allowed: AllowedHosts;
  maxBytes: number;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

async function downloadOnce(first: URL, destPath: string, context: AttemptContext) {
  try {
    let current = first;
    for (let hop = 0; ; hop++) {
      const response = await request(current, {
        dispatcher: context.agent,
        method: "GET",
        signal: context.signal,
      });
      const status = response.statusCode;
      if (REDIRECT_STATUSES.has(status)) {
        await response.body.dump();
        if (hop >= MAX_REDIRECTS) {
          throw new ValidationError(
            `input url redirected more than ${MAX_REDIRECTS} times: ${redact(first)}`,
          );
        }
        current = nextHop(current, singleHeader(response.headers.location));
        assertHostAllowed(current, context.allowed);
        continue;
      }
      if (status < 200 || status >= 300) {
        await response.body.dump();
        const message = `input url returned HTTP ${status}: ${redact(current)}`;
        if (status >= 500 || status === 429) throw new RetryableError(message);
        throw new ValidationError(message);
      }
      const declaredLength = Number(singleHeader(response.headers["content-length"]) ?? Number.NaN);
      if (context.maxBytes > 0 && declaredLength > context.maxBytes) {
        await response.body.dump();
        throw new ResourceError(`input file too large: more than ${context.maxBytes} bytes`);
      }
      const written = await streamToFile(response.body, destPath, {
        maxBytes: context.maxBytes,
        expectedBytes: Number.isSafeInteger(declaredLength) ? declaredLength : undefined,
        diskFullAdvice: RUN_DIR_FULL,
      });
      return { written, mimeHint: singleHeader(response.headers["content-type"]) };
    }
  } catch (error) {
    throw classify(error, first, context);
  }
}

function nextHop(current: URL, location: string | undefined): URL {
  if (location === undefined || location.trim() === "") {
    throw new ValidationError(`input url redirect without a Location header: ${redact(current)}`);
  }
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new ValidationError(`input url redirected to an invalid URL: ${redact(current)}`);
  }
  if (next.protocol !== "http:" && next.protocol !== "https:") {
    throw new ValidationError("input url must be http(s): a redirect led elsewhere");
  }
  return next;
}

function classify(error: unknown, url: URL, context: AttemptContext): Error {
  if (context.signal?.aborted) return abortReason(context.signal);
  if (error instanceof WorkerError) return error;
  const code = errorCode(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new RetryableError(
      `input download timed out (nothing received for ${context.timeoutMs / 1000} s): ${redact(url)}`,
      { cause: error },
    );
  }
  const failure = transferFailure(error, context.signal, "input download failed");
  if (failure) return failure;
  if (code === "ENOTFOUND") {
    return new ValidationError(`input url host could not be resolved: ${url.hostname}`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

function parseInputUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw new ValidationError("input url must be http(s): not a valid URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ValidationError(`input url must be http(s), not ${parsed.protocol.slice(0, -1)}`);
  }
  return parsed;
}

/** The check before connecting: IP literals and `localhost` names need no DNS to be refused. */
export function assertHostAllowed(url: URL, allowed: AllowedHosts): void {
  const host = canonicalHost(url.hostname);
  if (allowed.allows(host, effectivePort(url.protocol, url.port))) return;
  if (host === "localhost" || host.endsWith(".localhost")) throw blockedHostError(host);
  if (isIP(host) !== 0 && isBlockedAddress(host)) throw blockedHostError(host);
}

function urlExtension(url: URL): string {
  const extension = extname(url.pathname);
  return /^\.[A-Za-z0-9]{1,10}$/.test(extension) ? extension.toLowerCase() : "";
}

/** Query strings often carry signatures, so messages show only the origin and the path. */
function redact(url: URL): string {
  return `${url.origin}${url.pathname}`;
}
