/** A JSON Schema (draft 2020-12) object, as discovery writes it into the manifest. */
export type JsonSchema = Record<string, unknown>;
