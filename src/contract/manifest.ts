import type { ModelSpec, Resources } from "./model-spec.js";

/** `{module, qualname}` of a payload, output or delta type, as the Python SDK records it. */
export interface TypeLocation {
  /** The source file declaring the type, relative to the project (`gen-worker` for SDK types). */
  module: string;
  qualname: string;
}

export interface InjectionEntry {
  param: string;
  type: string;
  model_ref: { source: "fixed" | "payload"; key: string };
}

/**
 * One handler in the manifest. The keys up to `delta_output_schema` are the Python SDK's, in its
 * order; `export` and `description` are TypeScript additions.
 */
export interface ManifestFunction {
  name: string;
  endpoint_name: string;
  module: string;
  resources: { max_concurrency?: number };
  payload_type: TypeLocation;
  payload_schema_sha256: string;
  input_schema: Record<string, unknown>;
  output_mode: "single" | "incremental";
  output_type: TypeLocation;
  output_schema_sha256: string;
  output_schema: Record<string, unknown>;
  incremental_output: boolean;
  injection_json: InjectionEntry[];
  required_models: string[];
  payload_repo_selectors: { field: string; kind: "short_key" }[];
  delta_type?: TypeLocation;
  delta_schema_sha256?: string;
  delta_output_schema?: Record<string, unknown>;
  /** The name the entry module exports the handler under. */
  export: string;
  description?: string;
}

/**
 * A realtime handler, `(ctx: ActionContext, socket: RealtimeSocket, ...models)`. A TypeScript-only key
 * of the manifest: the Python SDK listed its `@worker_websocket` handlers nowhere in it. Registrations
 * name these functions in `available_functions`, never in `function_schemas` (they have no schemas).
 */
export interface RealtimeManifestFunction {
  name: string;
  endpoint_name: string;
  /** The source file declaring the handler, relative to the project. */
  module: string;
  /** The name the entry module exports the handler under. */
  export: string;
  /** The socket's parameter name. */
  socket_param: string;
  /** The injected models, in parameter order; `required_variant_refs[i]` of an open binds the i-th. */
  injection_json: InjectionEntry[];
  required_models: string[];
  description?: string;
}

/**
 * What `/app/.cozy/manifest.json` holds: the Python SDK's keys plus `runtime`, and `realtime_functions`
 * when the project has realtime handlers.
 */
export interface Manifest {
  project_name: string;
  functions: ManifestFunction[];
  /** Realtime handlers; absent when there are none. */
  realtime_functions?: RealtimeManifestFunction[];
  models_by_function?: Record<string, Record<string, ModelSpec>>;
  resources?: Resources;
  runtime: { language: "typescript"; node: string; gen_worker: string; main: string };
}
