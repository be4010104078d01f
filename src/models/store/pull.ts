import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type ModelRef, parseModelRef } from "../../contract/model-ref.js";
import { DEFAULT_DTYPES, DTYPES, type ModelSpec } from "../../contract/model-spec.js";
import { UserError } from "../../contract/user-errors.js";
import { GEN_WORKER_VERSION } from "../../host/package.js";
import { isDtype, parseCozyConfig } from "../../project/cozy-toml.js";
import type { ModelSettings } from "../../settings/models.js";
import type { EnsureSnapshotOptions, ModelDiskCache } from "./disk-cache.js";
import { ensureSnapshot, type ModelSnapshot } from "./ensure-snapshot.js";

/** `cozy-worker models pull` asked for something it cannot pull as given (exit 2). */
class PullUsageError extends UserError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

/** Pulls a model into the cache as `cozy-worker models pull` does: the files `spec` selects. */
export function pullModel(
  cache: ModelDiskCache,
  spec: ModelSpec,
  options: EnsureSnapshotOptions,
): Promise<ModelSnapshot> {
  // pullSpec has already checked that a cozy: ref may be pulled here (cozyRefForPull).
  return ensureSnapshot(cache, parseModelRef(spec.ref), spec, options);
}

/**
 * A cozy: ref to pull through the Cozy Hub API; without WORKER_ALLOW_COZY_HUB_API_RESOLVE the worker
 * takes cozy: models only from the scheduler's presigned URLs, so the CLI says what to set.
 */
function cozyRefForPull(text: string, settings: ModelSettings): ModelRef {
  const ref = parseModelRef(text);
  if (!settings.cozyHub.apiResolveAllowed) {
    throw new PullUsageError(
      `${text}: the worker downloads cozy: models from URLs the scheduler resolves; to pull one here, ` +
        "set WORKER_ALLOW_COZY_HUB_API_RESOLVE=1 and COZY_HUB_URL (and COZY_HUB_TOKEN for a private repo)",
    );
  }
  if (settings.cozyHub.url === undefined) {
    throw new PullUsageError(`${text}: set COZY_HUB_URL to the Cozy Hub base URL to pull cozy: models`);
  }
  return ref;
}

/** A ref given as is (`hf:...` or `cozy:...`), or a key looked up in `<dir>/cozy.toml`. */
export async function pullSpec(
  model: string,
  dir: string,
  dtype: string | undefined,
  settings: ModelSettings,
): Promise<ModelSpec> {
  if (/^cozy:/i.test(model.trim())) {
    if (dtype !== undefined)
      throw new PullUsageError("--dtype applies to hf: refs; a cozy: snapshot is pulled whole");
    cozyRefForPull(model.trim(), settings);
    return { ref: model.trim(), dtypes: [...DEFAULT_DTYPES] };
  }
  if (/^hf:/i.test(model.trim())) {
    parseModelRef(model);
    let dtypes = [...DEFAULT_DTYPES];
    if (dtype !== undefined) {
      const items = dtype
        .split(",")
        .map((item) => item.trim().toLowerCase())
        .filter(Boolean);
      const known = items.filter(isDtype);
      if (items.length === 0 || known.length < items.length) {
        throw new PullUsageError(`--dtype ${JSON.stringify(dtype)}: known dtypes are ${DTYPES.join(", ")}`);
      }
      dtypes = known;
    }
    return { ref: model.trim(), dtypes };
  }
  const file = join(resolve(dir), "cozy.toml");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new PullUsageError(
      `"${model}" is not an hf: or cozy: ref, and there is no ${file} to look it up in as a model key ` +
        "(write hf:owner/repo or cozy:owner/repo, or pass the project folder)",
    );
  }
  const config = parseCozyConfig(text, file, { packageVersion: GEN_WORKER_VERSION });
  const spec =
    config.models[model] ??
    Object.values(config.endpoints).find((models) => models[model] !== undefined)?.[model];
  if (spec === undefined) {
    const keys = Object.keys(config.models);
    throw new PullUsageError(
      `no model "${model}" in ${file}; its [models] keys: ${keys.length > 0 ? keys.join(", ") : "none"}`,
    );
  }
  if (dtype !== undefined)
    throw new PullUsageError("--dtype applies to a ref given as is; cozy.toml sets the key's dtypes");
  if (!/^hf:/i.test(spec.ref)) cozyRefForPull(spec.ref, settings);
  return spec;
}
