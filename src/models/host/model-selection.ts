import { FatalError, ValidationError } from "../../contract/errors.js";
import type { InjectionEntry, Manifest } from "../../contract/manifest.js";
import { canonicalizeModelRef } from "../../contract/model-ref.js";
import { DEFAULT_DTYPES, type ModelSpec } from "../../contract/model-spec.js";
import type { ReleaseModels } from "../../contract/scheduler.js";

/** The model an injection resolved to. */
export interface ModelChoice {
  /** The keyspace key (for a `PayloadModel`, the payload field's value). */
  key: string;
  /** The canonical ref: the model's id in the caches, events and registrations. */
  modelId: string;
  spec: ModelSpec;
  /** For a `PayloadModel`, the payload field that picked the model. */
  field?: string;
}

const LISTED_KEYS = 20;

/**
 * Resolves one injection of a run: the function's keyspace (cozy.toml
 * `[endpoints.<slug>.models]`, else `[models]`, as the manifest's `models_by_function` holds it), else
 * the release map; then the release allowlist. A payload field must hold a key of that keyspace: raw refs
 * are refused. Unlike the Python SDK, a fixed key missing from the keyspace is an error rather than a ref
 * used as is (discovery already refuses it, so only a stale manifest gets here).
 */
export function resolveInjection(
  injection: InjectionEntry,
  functionName: string,
  keyspace: Readonly<Record<string, ModelSpec>>,
  payload: unknown,
  release: ReleaseModels | undefined,
): ModelChoice {
  const map = effectiveMap(keyspace, release);
  const keys = Object.keys(map).sort();
  let choice: ModelChoice;
  if (injection.model_ref.source === "fixed") {
    const key = injection.model_ref.key.trim();
    const spec = map[key];
    if (spec === undefined) {
      throw new FatalError(
        `${functionName} injects model key '${key}', which its keyspace does not define (${describeKeys(keys)}): add it to cozy.toml [models] and rebuild the manifest with cozy-worker discover`,
      );
    }
    choice = { key, modelId: canonicalizeModelRef(spec.ref), spec };
  } else {
    const field = injection.model_ref.key;
    const key = payloadKey(payload, field);
    if (keys.length === 0) {
      throw new FatalError(
        `${functionName} selects a model by payload field '${field}', but no model keys are configured: add them to cozy.toml [models] and rebuild the manifest with cozy-worker discover`,
      );
    }
    const spec = map[key];
    if (spec === undefined) {
      const shown = keys.slice(0, LISTED_KEYS).join(", ");
      const more = keys.length > LISTED_KEYS ? ` (+${keys.length - LISTED_KEYS} more)` : "";
      const refHint = /[:/]/.test(key) ? "; model refs are not accepted in a payload, only keys" : "";
      throw new ValidationError(
        `unknown model key '${key}' for payload field '${field}'; allowed keys: [${shown}]${more}${refHint}`,
      );
    }
    choice = { key, modelId: canonicalizeModelRef(spec.ref), spec, field };
  }
  if (release && release.allowed.length > 0 && !release.allowed.includes(choice.modelId)) {
    throw new ValidationError(
      `model ${choice.modelId} (key '${choice.key}') is not allowed for this release; supported: ${release.allowed.join(", ")}`,
    );
  }
  return choice;
}

function effectiveMap(
  keyspace: Readonly<Record<string, ModelSpec>>,
  release: ReleaseModels | undefined,
): Readonly<Record<string, ModelSpec>> {
  if (Object.keys(keyspace).length > 0 || release === undefined) return keyspace;
  return Object.fromEntries(
    Object.entries(release.refByKey).map(([key, ref]) => [key, { ref, dtypes: [...DEFAULT_DTYPES] }]),
  );
}

function payloadKey(payload: unknown, field: string): string {
  const record = payload !== null && typeof payload === "object" ? (payload as Record<string, unknown>) : {};
  if (!(field in record)) throw new ValidationError(`missing payload field for model selection: '${field}'`);
  const value = record[field];
  if (value === null) throw new ValidationError(`payload field '${field}' is null; expected a model key`);
  if (typeof value !== "string") {
    throw new ValidationError(`payload field '${field}' must be a string (model key), got ${typeof value}`);
  }
  const key = value.trim();
  if (key === "") throw new ValidationError(`payload field '${field}' is empty; expected a model key`);
  return key;
}

function describeKeys(keys: readonly string[]): string {
  return keys.length === 0 ? "it has none" : `keys: ${keys.join(", ")}`;
}

/**
 * The spec of a model id named outside a run (load commands, prefetch): the first manifest entry whose
 * ref is that model, else the ref with the default dtypes.
 */
export function specForModel(modelId: string, manifest: Manifest | undefined): ModelSpec {
  for (const keyspace of Object.values(manifest?.models_by_function ?? {})) {
    for (const spec of Object.values(keyspace)) {
      if (canonicalizeModelRef(spec.ref) === modelId) return spec;
    }
  }
  return { ref: modelId, dtypes: [...DEFAULT_DTYPES] };
}

/** Every model id the manifest's keyspaces name, sorted. */
export function manifestModelIds(manifest: Manifest | undefined): string[] {
  const ids = new Set<string>();
  for (const keyspace of Object.values(manifest?.models_by_function ?? {})) {
    for (const spec of Object.values(keyspace)) ids.add(canonicalizeModelRef(spec.ref));
  }
  return [...ids].sort();
}
