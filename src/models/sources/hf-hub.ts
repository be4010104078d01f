import pRetry from "p-retry";
import { type Dispatcher, request } from "undici";
import { AuthError } from "../../contract/errors.js";
import { UserError } from "../../contract/user-errors.js";
import type { ModelSettings } from "../../settings/models.js";
import { proxyDispatcher, viaProxy } from "../download/download-agent.js";
import type { HfRepoFile } from "./hf-file-selection.js";

/** `HF_ENDPOINT` when unset. */
export const DEFAULT_HF_ENDPOINT = "https://huggingface.co";

/** A git (sha1) object id, as the hub's repos have. */
const GIT_OID = /^[0-9a-f]{40}$/i;

/** The revision asked for when a ref names none. */
export const DEFAULT_HF_REVISION = "main";

export interface HfHubOptions {
  /** Base URL of the hub (`HF_ENDPOINT`); default {@link DEFAULT_HF_ENDPOINT}. */
  endpoint?: string;
  /** Bearer token (`HF_TOKEN`, `HUGGINGFACE_TOKEN` or `HUGGINGFACEHUB_API_TOKEN`). */
  token?: string;
  /** Longest wait for the API's headers and body. Default 30 s. */
  timeoutMs?: number;
  /** Tries after the first one for the listing, on network errors, 429 and 5xx. Default 3. */
  retries?: number;
  /** First backoff between listing tries, doubled each time. Default 500 ms. */
  retryBaseDelayMs?: number;
  dispatcher?: Dispatcher;
}

/** The files of a repo at one commit. */
export interface HfRepoListing {
  repo: string;
  /** The revision that was asked for (a branch, a tag or a commit). */
  revision: string;
  /** The commit the revision points at (the API's `sha`). */
  commit: string;
  /**
   * Every file; `size` and `lfsSha256` come from the LFS pointer when there is one, `gitOid` (the
   * listing's `blobId`) for a file outside LFS, so that every file can be checked.
   */
  files: HfRepoFile[];
}

/** A call to a model hub's API that failed, its HTTP status when there was one; the message says what to do. */
export class HubError extends UserError {
  constructor(
    message: string,
    readonly status?: number,
    readonly retryable = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Runs `attempt`, and again after a backoff (the first delay doubling, at most 10 s) while it fails
 * with a retryable HubError and `signal` has not aborted.
 */
export function retryHubCall<T>(
  attempt: () => Promise<T>,
  options: { retries?: number; retryBaseDelayMs?: number },
  signal?: AbortSignal,
): Promise<T> {
  return pRetry(attempt, {
    retries: options.retries ?? 3,
    minTimeout: options.retryBaseDelayMs ?? 500,
    factor: 2,
    maxTimeout: 10_000,
    ...(signal === undefined ? {} : { signal }),
    shouldRetry: ({ error }) => signal?.aborted !== true && error instanceof HubError && error.retryable,
  });
}

/** A Hugging Face API call that failed. */
export class HfHubError extends HubError {}

/** HTTP 404 from the API: the repo or the revision does not exist (or is hidden from this token). */
export class HfNotFoundError extends HfHubError {
  constructor(message: string) {
    super(message, 404);
    this.name = "HfNotFoundError";
  }
}

/** HTTP 401 or 403 from the API: a gated or private repo, or a bad token. */
export class HfAuthError extends AuthError {}

/** The hub options of the model settings: `HF_ENDPOINT`, the token and the proxy. */
export function hfHubOptions(settings: Pick<ModelSettings, "hf" | "proxy">): HfHubOptions {
  const options: HfHubOptions = { ...settings.hf };
  const dispatcher = proxyDispatcher(settings.proxy);
  if (dispatcher !== undefined) options.dispatcher = dispatcher;
  return options;
}

interface RevisionResponse {
  sha?: unknown;
  siblings?: unknown;
}

interface Sibling {
  rfilename?: unknown;
  size?: unknown;
  /** The git blob id (sha1 of `blob <size>\0<content>`); of the pointer file for an LFS file. */
  blobId?: unknown;
  lfs?: { sha256?: unknown; size?: unknown } | null;
}

/** A client for the parts of the Hugging Face HTTP API that downloads need. */
export class HfHubClient {
  readonly endpoint: string;
  private readonly token: string | undefined;

  constructor(private readonly options: HfHubOptions = {}) {
    this.endpoint = (options.endpoint ?? DEFAULT_HF_ENDPOINT).replace(/\/+$/, "");
    this.token = options.token;
  }

  /** Headers for API calls and file downloads: the bearer token when there is one. */
  authHeaders(): Record<string, string> {
    return this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
  }

  /** `GET /api/models/{repo}/revision/{revision}?blobs=true`: the commit and the files with sizes. */
  async listRepoFiles(repo: string, revision: string = DEFAULT_HF_REVISION): Promise<HfRepoListing> {
    const url = `${this.endpoint}/api/models/${encodeRepo(repo)}/revision/${encodeURIComponent(revision)}?blobs=true`;
    const body = (await this.getJson(url, repo, revision)) as RevisionResponse;
    const commit = typeof body.sha === "string" ? body.sha : "";
    if (!/^[0-9a-f]{7,64}$/i.test(commit)) {
      throw new HfHubError(`${this.endpoint} answered hf:${repo}@${revision} without a commit sha`);
    }
    if (!Array.isArray(body.siblings)) {
      throw new HfHubError(`${this.endpoint} answered hf:${repo}@${revision} without a file list (siblings)`);
    }
    const files: HfRepoFile[] = [];
    for (const item of body.siblings as Sibling[]) {
      if (typeof item?.rfilename !== "string") continue;
      const lfs = item.lfs ?? undefined;
      const lfsSize = typeof lfs?.size === "number" ? lfs.size : undefined;
      const size = lfsSize ?? (typeof item.size === "number" ? item.size : Number.NaN);
      const file: HfRepoFile = { path: item.rfilename, size };
      if (typeof lfs?.sha256 === "string") file.lfsSha256 = lfs.sha256.toLowerCase();
      else if (lfs === undefined && typeof item.blobId === "string" && GIT_OID.test(item.blobId)) {
        file.gitOid = item.blobId.toLowerCase();
      }
      files.push(file);
    }
    return { repo, revision, commit: commit.toLowerCase(), files };
  }

  /** `GET /{repo}/resolve/{commit}/{path}`: where a file of a commit is downloaded from. */
  fileUrl(repo: string, commit: string, path: string): string {
    const encodedPath = path.split("/").map(encodeURIComponent).join("/");
    return `${this.endpoint}/${encodeRepo(repo)}/resolve/${encodeURIComponent(commit)}/${encodedPath}`;
  }

  private async getJson(url: string, repo: string, revision: string): Promise<unknown> {
    return retryHubCall(() => this.getJsonOnce(url, repo, revision), this.options);
  }

  private async getJsonOnce(url: string, repo: string, revision: string): Promise<unknown> {
    const timeout = this.options.timeoutMs ?? 30_000;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: "GET",
        headers: { accept: "application/json", ...this.authHeaders() },
        headersTimeout: timeout,
        bodyTimeout: timeout,
        ...(this.options.dispatcher === undefined ? {} : { dispatcher: this.options.dispatcher }),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new HfHubError(
        `cannot reach the Hugging Face hub at ${this.endpoint}${viaProxy(this.options.dispatcher)}: ${reason}; check the network, or set HF_ENDPOINT to a hub or mirror this machine can reach`,
        undefined,
        true,
        {
          cause: error,
        },
      );
    }
    const status = response.statusCode;
    const name = `hf:${repo}@${revision}`;
    if (status === 200) {
      try {
        return await response.body.json();
      } catch (error) {
        throw new HfHubError(`${this.endpoint} sent a listing of ${name} that is not JSON`, status, true, {
          cause: error,
        });
      }
    }
    const detail = await errorDetail(response);
    const errorCode = response.headers["x-error-code"];
    if (status === 401 || status === 403) {
      const tokenHint =
        this.token === undefined
          ? "set HF_TOKEN to a token that can read it (and accept the model's terms on its page if it is gated)"
          : "the token in HF_TOKEN was refused or cannot read it (accept the model's terms on its page if it is gated)";
      throw new HfAuthError(
        `access to ${name} was refused (HTTP ${status}${detail}): it is gated or private; ${tokenHint}`,
      );
    }
    if (status === 404) {
      const revisionMissing = errorCode === "RevisionNotFound" || /revision|rev id/i.test(detail);
      const what = revisionMissing
        ? `revision "${revision}" of repo ${repo} not found`
        : errorCode === "RepoNotFound"
          ? `repo ${repo} not found`
          : `repo ${repo} or its revision "${revision}" not found`;
      throw new HfNotFoundError(
        `${what} at ${this.endpoint} (HTTP 404${detail}); check the spelling, set HF_TOKEN if the repo is private, or HF_ENDPOINT if it lives on another hub`,
      );
    }
    const retryable = status === 408 || status === 429 || status >= 500;
    throw new HfHubError(
      `listing ${name} at ${this.endpoint} failed with HTTP ${status}${detail}${retryable ? "; the hub may be busy: try again, or set HF_ENDPOINT to a mirror" : ""}`,
      status,
      retryable,
    );
  }
}

/** `owner/repo` with each segment URL-encoded. */
export function encodeRepo(repo: string): string {
  return repo.split("/").map(encodeURIComponent).join("/");
}

/** `: <the API's error text>` when the body says something, else empty. */
export async function errorDetail(response: Dispatcher.ResponseData): Promise<string> {
  try {
    const text = (await response.body.text()).slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { error?: unknown };
      if (typeof parsed.error === "string" && parsed.error !== "") return `: ${parsed.error}`;
    } catch {
      // not JSON
    }
    const trimmed = text.trim();
    return trimmed === "" ? "" : `: ${trimmed.slice(0, 200)}`;
  } catch {
    return "";
  }
}
