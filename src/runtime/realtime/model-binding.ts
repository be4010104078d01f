import { ValidationError } from "../../contract/errors.js";
import type { InjectionEntry, ManifestFunction, RealtimeManifestFunction } from "../../contract/manifest.js";
import type { ModelLease, ModelProvider } from "../../contract/model-lease.js";
import { canonicalizeModelRef, parseModelRef } from "../../contract/model-ref.js";
import { DEFAULT_DTYPES, type ModelSpec } from "../../contract/model-spec.js";

/** The models of one session, leased from the model host. */
export interface SessionModels {
  /** The handler's model arguments, in parameter order. */
  load(): Promise<unknown[]>;
  /** Unpins them; safe to call more than once, and before `load` settled. */
  release(): void;
}

type Keyspace = Readonly<Record<string, ModelSpec>>;

/**
 * Binds a realtime handler's injections as the Python SDK does: injection i from
 * `required_variant_refs[i]`, given as a model ref or as a key of the function's keyspace (else the
 * release's); then the model host resolves it with the release allowlist, as for runs. Without
 * `entries` (the dev runner, where no scheduler names models) each injection binds the key its
 * parameter names. A missing entry is a {@link ValidationError} that names the parameter.
 */
export function bindSessionModels(
  fn: RealtimeManifestFunction,
  keyspace: Keyspace,
  entries: readonly string[] | undefined,
  provider: ModelProvider | undefined,
  session: { id: string; signal: AbortSignal },
): SessionModels {
  const sessionId = session.id;
  if (fn.injection_json.length === 0 || !provider) {
    return { load: () => Promise.resolve([]), release: () => {} };
  }
  const leases: ModelLease[] = fn.injection_json.map((injection, index) => {
    const entry = entries === undefined ? injection.model_ref.key : (entries[index] ?? "").trim();
    if (entry === "") {
      throw new ValidationError(
        `realtime session ${sessionId} of ${fn.name}: required_variant_refs has no entry ${index} for model parameter '${injection.param}' (Model<"${injection.model_ref.key}">): the scheduler must send one model ref or key per injected model, in parameter order (${fn.injection_json.length} in all)`,
      );
    }
    const { key, space } = bindingFor(injection, entry, keyspace);
    return provider.lease({
      runId: sessionId,
      fn: leaseFunction(fn, { ...injection, model_ref: { source: "fixed", key } }),
      keyspace: space,
      payload: {},
      signal: session.signal,
    });
  });
  return {
    async load() {
      const models: unknown[] = [];
      for (const lease of leases) models.push(...(await lease.load()));
      return models;
    },
    release() {
      for (const lease of leases) lease.release();
    },
  };
}

/**
 * The key and keyspace one lease resolves an entry through: a key of the function's keyspace as is;
 * a model ref under the injection's own key (so `model.key` stays the one the handler declared), with
 * the dtypes and files the keyspace gives that model; anything else as a key the host looks up in the
 * function's keyspace, or the release's when the function has none.
 */
function bindingFor(
  injection: InjectionEntry,
  entry: string,
  keyspace: Keyspace,
): { key: string; space: Keyspace } {
  if (Object.hasOwn(keyspace, entry)) return { key: entry, space: keyspace };
  if (!isModelRef(entry)) return { key: entry, space: keyspace };
  const modelId = canonicalizeModelRef(entry);
  const known = Object.values(keyspace).find((spec) => canonicalizeModelRef(spec.ref) === modelId);
  const spec: ModelSpec = known ? { ...known, ref: entry } : { ref: entry, dtypes: [...DEFAULT_DTYPES] };
  return { key: injection.model_ref.key, space: { [injection.model_ref.key]: spec } };
}

/** Every model ref names `owner/repo`; keys of cozy.toml are plain names. */
function isModelRef(text: string): boolean {
  if (!text.includes("/")) return false;
  try {
    parseModelRef(text);
    return true;
  } catch {
    return false;
  }
}

/** The manifest shape a lease reads (its name and one injection); a realtime function has no schemas. */
function leaseFunction(fn: RealtimeManifestFunction, injection: InjectionEntry): ManifestFunction {
  const location = { module: fn.module, qualname: fn.name };
  return {
    name: fn.name,
    endpoint_name: fn.endpoint_name,
    module: fn.module,
    resources: {},
    payload_type: location,
    payload_schema_sha256: "",
    input_schema: {},
    output_mode: "single",
    output_type: location,
    output_schema_sha256: "",
    output_schema: {},
    incremental_output: false,
    injection_json: [injection],
    required_models: [injection.model_ref.key],
    payload_repo_selectors: [],
    export: fn.export,
  };
}
