import { rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import { WorkerError } from "../../contract/errors.js";
import { errorCode } from "../../util/io-errors.js";
import { type AssetInfo, type AssetWire, RuntimeAsset } from "./asset.js";
import { downloadCozyRef } from "./cozy-input.js";
import type { FileApiClient } from "./file-api.js";
import { trimInputCache } from "./input-cache.js";
import { assertRunId, runIdProblem } from "./output-ref.js";
import { SchemaWalker } from "./schema-walker.js";
import { downloadUrl, type UrlDownloadOptions } from "./url-input.js";

const CONCURRENT_DOWNLOADS = 4;

export interface MaterializeOptions {
  runId: string;
  owner?: string | null | undefined;
  /** Inputs go to `<runDir>/<runId>/inputs/`. */
  runDir: string;
  cacheDir: string;
  /** Size cap of the Cozy input cache in bytes; 0 = no cap. */
  cacheMaxBytes: number;
  /** 0 or less: no limit. */
  maxInputFileBytes: number;
  /** Attempts per URL download. */
  downloadRetries: number;
  allowHosts: readonly string[];
  fileApi?: FileApiClient | undefined;
  signal?: AbortSignal | undefined;
  /** Tuning of URL downloads (tests shorten delays and wrap the connector). */
  urlDownload?: Pick<UrlDownloadOptions, "retryBaseDelayMs" | "timeoutMs" | "lookup" | "connect">;
}

/**
 * Replaces every `Asset` of a payload (found through its JSON Schema) by a downloaded
 * {@link RuntimeAsset}. Returns a new payload; the input is not changed. Client-supplied
 * `local_path` values are ignored. The first failure aborts the other downloads and rejects
 * with an error naming the asset's place in the payload, such as `$.images[1]`.
 */
export async function materializeAssets(
  payload: unknown,
  schema: Record<string, unknown>,
  options: MaterializeOptions,
): Promise<unknown> {
  assertRunId(options.runId);
  let result: unknown;
  const slots = new SchemaWalker(schema).findAssets(payload, (value) => {
    result = value;
  });
  result = slots.copy;
  if (slots.assets.length === 0) return result;

  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const byRef = new Map<string, Promise<AssetInfo>>();
  let failure: Error | undefined;

  const limit = pLimit(CONCURRENT_DOWNLOADS);
  const fetchOne = async (slot: (typeof slots.assets)[number]) => {
    if (failure !== undefined) return;
    try {
      let pending = byRef.get(slot.wire.ref);
      if (pending === undefined) {
        pending = download(slot.wire, options, signal);
        byRef.set(slot.wire.ref, pending);
      }
      const info = await pending;
      slot.place(new RuntimeAsset({ ...info, ref: slot.wire.ref, owner: options.owner ?? null }));
    } catch (error) {
      if (failure === undefined) {
        failure = atPath(error, slot.path);
        controller.abort(failure);
      }
    }
  };
  await Promise.all(slots.assets.map((slot) => limit(() => fetchOne(slot))));
  if (failure !== undefined) throw failure;
  return result;
}

/** Where a run's input files go: `<runDir>/<runId>/inputs/`. */
export function runInputsDir(runDir: string, runId: string): string {
  return join(runDir, runId, "inputs");
}

/**
 * Removes a run's input files: `<runDir>/<runId>/inputs/`, then `<runDir>/<runId>/` if that left
 * it empty. Only what materializing wrote is removed, never a folder of another name that shares
 * the run directory (a run id may be "cache" or "models"). Never throws: a file that cannot be
 * removed is reported as a warning and the run's result stands.
 */
export async function removeRunInputs(
  runDir: string,
  runId: string,
  cache: { dir: string; maxBytes: number },
): Promise<void> {
  if (runIdProblem(runId)) return;
  const inputsDir = runInputsDir(runDir, runId);
  try {
    await rm(inputsDir, { recursive: true, force: true });
    await rmdir(join(runDir, runId)).catch((error: unknown) => {
      const code = errorCode(error);
      if (code !== "ENOENT" && code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
    });
  } catch (error) {
    process.emitWarning(
      `could not remove the input files of run ${runId} (${inputsDir}): ${(error as Error).message}; remove them by hand`,
      { code: "COZY_RUN_DIR_CLEANUP" },
    );
    return;
  }
  // The run's links to cached files are gone, so the files over the cap that it held can go too.
  await trimInputCache(cache.dir, cache.maxBytes).catch(() => undefined);
}

function download(wire: AssetWire, options: MaterializeOptions, signal: AbortSignal): Promise<AssetInfo> {
  const inputsDir = runInputsDir(options.runDir, options.runId);
  if (looksLikeUrl(wire.ref)) {
    return downloadUrl(wire.ref.trim(), {
      ...options.urlDownload,
      destDir: inputsDir,
      maxBytes: options.maxInputFileBytes,
      retries: options.downloadRetries,
      allowHosts: options.allowHosts,
      signal,
    });
  }
  return downloadCozyRef(wire.ref, {
    api: options.fileApi,
    runInputsDir: inputsDir,
    cacheDir: options.cacheDir,
    cacheMaxBytes: options.cacheMaxBytes,
    maxBytes: options.maxInputFileBytes,
    signal,
  });
}

/** Any `scheme://` (and `file:` / `data:`) goes to the URL downloader, which refuses all but http(s). */
function looksLikeUrl(ref: string): boolean {
  return /^\s*([a-z][a-z0-9+.-]*:\/\/|file:|data:)/i.test(ref);
}

/** Keeps the error's class (and so its error type) and puts the payload path in front of its message. */
function atPath(error: unknown, path: string): Error {
  const reason = error instanceof Error ? error.message : String(error);
  const message = `input asset at ${path}: ${reason}`;
  if (error instanceof WorkerError) {
    const ErrorClass = error.constructor as new (message: string, options?: ErrorOptions) => WorkerError;
    return new ErrorClass(message, { cause: error });
  }
  return new Error(message, { cause: error });
}
