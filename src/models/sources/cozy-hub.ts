import { type Dispatcher, request } from "undici";
import { AuthError } from "../../contract/errors.js";
import { formatModelRef, type ModelRef } from "../../contract/model-ref.js";
import type { ResolvedCozyModel, ResolvedCozyModelFile } from "../../contract/scheduler.js";
import type { ModelSettings } from "../../settings/models.js";
import { normalizeRelativePath } from "../../util/relative-path.js";
import { proxyDispatcher, viaProxy } from "../download/download-agent.js";
import { encodeRepo, errorDetail, HubError, retryHubCall } from "./hf-hub.js";

/** A checked snapshot manifest: every path safe, every size a whole number, every hash 64 hex digits. */
export interface CozyManifest {
  /** Lowercase; names the snapshot folder. */
  snapshotDigest: string;
  /** Sorted by path. */
  files: CozyManifestFile[];
}

export interface CozyManifestFile {
  path: string;
  size: number;
  /** Lowercase hex. */
  blake3: string;
  url: string;
}

/** A Cozy Hub call, or resolved data for a `cozy:` model, that cannot be used; the message says why. */
export class CozyHubError extends HubError {}

/** HTTP 409 from `resolve_artifact`: the repo has no artifact this worker can run. */
export class CozyNoCompatibleArtifactError extends CozyHubError {
  constructor(
    message: string,
    readonly debug: unknown,
  ) {
    super(message, 409);
  }
}

/**
 * A snapshot digest as the cache names its folders: `[<algorithm>:]<hex>`, lowercase (no dots, so
 * `.building`, `.json` and the like never match).
 */
export const SNAPSHOT_DIGEST = /^(?:[a-z0-9]{1,16}:)?[0-9a-f]{8,128}$/;
export const BLAKE3_HEX = /^[0-9a-f]{64}$/;

export interface CozyHubOptions {
  /** Base URL of Cozy Hub (`COZY_HUB_URL`). */
  url?: string;
  /** Bearer token (`COZY_HUB_TOKEN`). */
  token?: string;
  /** Longest wait for the API's headers and body. Default 30 s. */
  timeoutMs?: number;
  /** Tries after the first one, on network errors, 408, 429 and 5xx. Default 3. */
  retries?: number;
  /** First backoff, doubled each retry. Default 500 ms. */
  retryBaseDelayMs?: number;
  dispatcher?: Dispatcher;
}

/** The Hub options of the model settings: `COZY_HUB_URL`, `COZY_HUB_TOKEN` and the proxy. */
export function cozyHubOptions(settings: Pick<ModelSettings, "cozyHub" | "proxy">): CozyHubOptions {
  const { url, token } = settings.cozyHub;
  const options: CozyHubOptions = { ...(url ? { url } : {}), ...(token ? { token } : {}) };
  const dispatcher = proxyDispatcher(settings.proxy);
  if (dispatcher !== undefined) options.dispatcher = dispatcher;
  return options;
}

/** The message for a `cozy:` model that arrived without presigned URLs while the Hub API is not allowed. */
export function missingResolvedUrlsMessage(ref: string): string {
  return (
    `${ref}: cozy model download requires orchestrator-resolved URLs (missing resolved_cozy_models_by_id entry); ` +
    "the scheduler must send this model's presigned URLs, or set WORKER_ALLOW_COZY_HUB_API_RESOLVE=1 " +
    "with COZY_HUB_URL (and COZY_HUB_TOKEN) to resolve it from Cozy Hub"
  );
}

/** Checks the orchestrator's data for `ref` and normalizes it. */
export function parseResolvedCozyModel(resolved: ResolvedCozyModel, ref: string): CozyManifest {
  const where = `resolved data for ${ref}`;
  const digest = (typeof resolved.snapshot_digest === "string" ? resolved.snapshot_digest : "")
    .trim()
    .toLowerCase();
  if (digest === "") throw new CozyHubError(`${where} has no snapshot_digest`);
  if (!SNAPSHOT_DIGEST.test(digest)) {
    throw new CozyHubError(
      `${where} has snapshot_digest ${JSON.stringify(resolved.snapshot_digest)}; expected hex, optionally prefixed like blake3:<hex>`,
    );
  }
  const list = Array.isArray(resolved.files) ? resolved.files : [];
  if (list.length === 0) throw new CozyHubError(`${where} lists no files`);
  const files: CozyManifestFile[] = [];
  const seen = new Set<string>();
  for (const [index, file] of list.entries()) {
    const raw = typeof file?.path === "string" ? file.path : "";
    let path: string;
    try {
      path = normalizeRelativePath(raw);
    } catch (error) {
      throw new CozyHubError(`${where}, file ${index}: ${(error as Error).message}`);
    }
    const name = `${where}, file ${JSON.stringify(path)}`;
    if (seen.has(path)) throw new CozyHubError(`${name} is listed twice`);
    seen.add(path);
    const size = parseSize(file.size_bytes);
    if (size === undefined) {
      throw new CozyHubError(
        `${name} has size_bytes ${String(file.size_bytes)}; expected a whole number ≥ 0`,
      );
    }
    const blake3 = (typeof file.blake3 === "string" ? file.blake3 : "")
      .trim()
      .toLowerCase()
      .replace(/^blake3:/, "");
    if (!BLAKE3_HEX.test(blake3)) {
      throw new CozyHubError(
        `${name} has no blake3 (64 hex digits), got ${JSON.stringify(file.blake3 ?? "")}`,
      );
    }
    const url = typeof file.url === "string" ? file.url.trim() : "";
    if (!/^https?:\/\//i.test(url)) throw new CozyHubError(`${name} has no http(s) url`);
    files.push({ path, size, blake3, url });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // A path that is also a folder of another path cannot be laid out.
  for (const file of files) {
    const parts = file.path.split("/");
    for (let depth = 1; depth < parts.length; depth += 1) {
      const folder = parts.slice(0, depth).join("/");
      if (seen.has(folder)) {
        throw new CozyHubError(`${where} lists ${JSON.stringify(folder)} both as a file and as a folder`);
      }
    }
  }
  return { snapshotDigest: digest, files };
}

function parseSize(value: ResolvedCozyModelFile["size_bytes"]): number | undefined {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === "number" ? value : Number(String(value));
  return Number.isSafeInteger(number) && number >= 0 ? number : undefined;
}

/** The hex of a digest without its `alg:` prefix, lowercased. */
export function digestHex(digest: string): string {
  return digest
    .toLowerCase()
    .replace(/^[a-z0-9]{1,16}:/, "")
    .trim();
}

/** The algorithm prefix of a digest (`blake3`), or undefined when it has none. */
export function digestAlgorithm(digest: string): string | undefined {
  return /^([a-z0-9]{1,16}):/i.exec(digest)?.[1]?.toLowerCase();
}

type CozyRef = Extract<ModelRef, { scheme: "cozy" }>;

interface ResolveArtifactResponse {
  repo_revision_seq?: unknown;
  snapshot_digest?: unknown;
  artifact?: { label?: unknown } | null;
  snapshot_manifest?: { files?: unknown } | null;
}

interface SnapshotManifestResponse {
  snapshot_digest?: unknown;
  digest?: unknown;
  files?: unknown;
  root_files?: unknown;
}

/**
 * The Cozy Hub v2 API, for development: the worker resolves a `cozy:` ref
 * itself only when `WORKER_ALLOW_COZY_HUB_API_RESOLVE` is set; in production the scheduler sends
 * presigned URLs.
 */
export class CozyHubClient {
  readonly url: string;

  constructor(private readonly options: CozyHubOptions = {}) {
    const url = options.url?.trim().replace(/\/+$/, "") ?? "";
    if (url === "") {
      throw new CozyHubError(
        "cozy downloads require COZY_HUB_URL: set it to the Cozy Hub base URL (and COZY_HUB_TOKEN to a token)",
      );
    }
    this.url = url;
  }

  /**
   * A tag: `POST /api/v1/repos/{owner}/{repo}/resolve_artifact` with URLs. A pinned digest:
   * `GET /api/v1/repos/{owner}/{repo}/snapshots/{digest}/manifest`.
   */
  async resolve(ref: CozyRef, signal?: AbortSignal): Promise<CozyManifest> {
    const base = `${this.url}/api/v1/repos/${encodeURIComponent(ref.owner)}/${encodeRepo(ref.repo)}`;
    const name = formatModelRef(ref);
    if (ref.digest !== undefined) {
      const body = (await this.call(
        "GET",
        `${base}/snapshots/${encodeURIComponent(ref.digest)}/manifest`,
        undefined,
        name,
        signal,
      )) as SnapshotManifestResponse;
      const digest = [body.snapshot_digest, body.digest].find((value) => typeof value === "string");
      const files = Array.isArray(body.files) && body.files.length > 0 ? body.files : body.root_files;
      return this.manifest(name, (digest as string | undefined) ?? ref.digest, files);
    }
    const body = (await this.call(
      "POST",
      `${base}/resolve_artifact`,
      {
        tag: ref.tag,
        include_urls: true,
        preferences: {
          file_type_preference: ["onnx"],
          quantization_preference: ["fp32", "fp16", "int8"],
          file_layout_preference: ["onnx"],
        },
        capabilities: { cuda_version: "", gpu_sm: 0, torch_version: "", installed_libs: [] },
      },
      name,
      signal,
    )) as ResolveArtifactResponse;
    const seq = Number(body.repo_revision_seq);
    if (!(seq > 0)) throw new CozyHubError(`${this.url} answered ${name} without a repo_revision_seq`);
    if (typeof body.snapshot_digest !== "string" || body.snapshot_digest === "") {
      throw new CozyHubError(`${this.url} answered ${name} without a snapshot_digest`);
    }
    return this.manifest(name, body.snapshot_digest, body.snapshot_manifest?.files);
  }

  private manifest(name: string, digest: string, files: unknown): CozyManifest {
    try {
      return parseResolvedCozyModel(
        { snapshot_digest: digest, files: Array.isArray(files) ? (files as ResolvedCozyModelFile[]) : [] },
        name,
      );
    } catch (error) {
      throw new CozyHubError(`${this.url} sent an unusable manifest: ${(error as Error).message}`);
    }
  }

  private async call(
    method: "GET" | "POST",
    url: string,
    body: unknown,
    name: string,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    return retryHubCall(() => this.callOnce(method, url, body, name, signal), this.options, signal);
  }

  private async callOnce(
    method: "GET" | "POST",
    url: string,
    body: unknown,
    name: string,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const timeout = this.options.timeoutMs ?? 30_000;
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: timeout,
        bodyTimeout: timeout,
        ...(signal === undefined ? {} : { signal }),
        ...(this.options.dispatcher === undefined ? {} : { dispatcher: this.options.dispatcher }),
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const reason = error instanceof Error ? error.message : String(error);
      throw new CozyHubError(
        `cannot reach Cozy Hub at ${this.url} (COZY_HUB_URL)${viaProxy(this.options.dispatcher)}: ${reason}`,
        undefined,
        true,
        {
          cause: error,
        },
      );
    }
    const status = response.statusCode;
    if (status === 200) {
      try {
        return await response.body.json();
      } catch (error) {
        throw new CozyHubError(`${this.url} answered ${name} with a body that is not JSON`, status, true, {
          cause: error,
        });
      }
    }
    if (status === 409) {
      let debug: unknown;
      try {
        debug = ((await response.body.json()) as { debug?: unknown }).debug;
      } catch {
        debug = undefined;
      }
      throw new CozyNoCompatibleArtifactError(
        `no compatible artifact for worker: Cozy Hub has no artifact of ${name} that this worker can run (HTTP 409)` +
          (debug === undefined ? "" : `; debug: ${JSON.stringify(debug).slice(0, 300)}`),
        debug,
      );
    }
    const detail = await errorDetail(response);
    if (status === 401 || status === 403) {
      const hint = this.options.token
        ? "the token in COZY_HUB_TOKEN was refused or cannot read this repo"
        : "set COZY_HUB_TOKEN to a token that can read it";
      throw new AuthError(`Cozy Hub refused ${name} (HTTP ${status}${detail}); ${hint}`);
    }
    if (status === 404) {
      throw new CozyHubError(
        `${name} not found at ${this.url} (HTTP 404${detail}); check the owner, repo, tag or digest`,
        status,
      );
    }
    const retryable = status === 408 || status === 429 || status >= 500;
    throw new CozyHubError(
      `resolving ${name} at ${this.url} failed with HTTP ${status}${detail}`,
      status,
      retryable,
    );
  }
}
