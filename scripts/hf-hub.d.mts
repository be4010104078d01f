import type { IncomingMessage, Server, ServerResponse } from "node:http";

/** Faults the hub injects into `resolve` (file) answers; counters go down as they are used. */
export interface HubFaults {
  /** Only these repo paths are affected (all files when unset). */
  paths?: string[];
  /** Send the headers of the whole answer, then only this many body bytes, then cut the connection. */
  truncateAfter?: number;
  /** How many answers are truncated (default: every one while `truncateAfter` is set). */
  truncateTimes?: number;
  /** Answer 503 (with `Retry-After: 0`) to this many file requests. */
  fail503?: number;
  /** Answer 200 with the whole file even to a Range request. */
  ignoreRange?: boolean;
  /** Serve the file with a byte flipped (same size, wrong hash). */
  wrongBytes?: boolean;
  /** Wait this long before sending a file's body (slow server). */
  delayMs?: number;
  /** Answer 503 to this many listing requests. */
  listing503?: number;
  /** Answer a Range request with a 206 of another version's bytes (the right length, other content). */
  rangeOtherBytes?: boolean;
  /** List the files without their git blob ids (`blobId`), as a mirror might. */
  noBlobIds?: boolean;
}

export interface HubRequest {
  method: string;
  path: string;
  range: string | undefined;
  authorization: string | undefined;
  status: number;
}

export interface HfHub {
  /** `http://127.0.0.1:<port>`: the value of `HF_ENDPOINT`. */
  endpoint: string;
  /** Mutable: change it between requests. */
  faults: HubFaults;
  /** When set, requests need `Authorization: Bearer <token>` (401 without one, 403 with another). */
  requireToken: string | undefined;
  requests: HubRequest[];
  /** The commit sha the hub gives `<owner>/<repo>` (a hash of its files). */
  commitOf(repo: string): Promise<string>;
  close(): Promise<void>;
}

/** Files bigger than this carry an `lfs` block in the listing, as on the real hub. */
export declare const LFS_THRESHOLD: number;

/** What `git hash-object` gives: sha1 of `blob <size>\0` and the content. */
export declare function gitBlobId(content: Uint8Array): string;

/**
 * A Hugging Face hub serving the repos under `root` (`<root>/<owner>/<repo>/...`):
 * `GET /api/models/<owner>/<repo>/revision/<rev>?blobs=true` and `GET /<owner>/<repo>/resolve/<rev>/<path>`.
 * A repo has one commit, a hash of its files; `main` and that sha are its revisions.
 */
export declare function startHfHub(root: string, options?: { port?: number; host?: string }): Promise<HfHub>;

/**
 * An HTTP server whose every request is appended to `requests` (its status filled in when the
 * answer is sent) and answered by `handle`; a handler that throws answers 500, or cuts the
 * connection once the headers are out.
 */
export declare function createLoggingServer(
  requests: HubRequest[],
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Server;

/** A JSON answer with its length. */
export declare function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void;
