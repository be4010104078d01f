/** The per-function keys of the reference manifest, in its order. */
export const REFERENCE_FUNCTION_KEYS = [
  "name",
  "endpoint_name",
  "module",
  "resources",
  "payload_type",
  "payload_schema_sha256",
  "input_schema",
  "output_mode",
  "output_type",
  "output_schema_sha256",
  "output_schema",
  "incremental_output",
  "injection_json",
  "required_models",
  "payload_repo_selectors",
  "delta_type",
  "delta_schema_sha256",
  "delta_output_schema",
];

/** The keys only streaming functions carry. */
export const DELTA_KEYS = REFERENCE_FUNCTION_KEYS.slice(-3);

/** The top-level keys of the reference manifest. */
export const REFERENCE_TOP_LEVEL_KEYS = ["project_name", "functions", "models_by_function", "resources"];
