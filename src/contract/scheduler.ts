/** What the Cozy scheduler tells a worker about models, independent of how it travels. */

/**
 * One file of a snapshot as the orchestrator resolves it (`scheduler.v1.ResolvedCozyModelFile`):
 * the decoded proto message, or the same fields as plain JSON.
 */
export interface ResolvedCozyModelFile {
  path?: string;
  /** A number; proto int64 may also arrive as a decimal string, a bigint or a Long. */
  size_bytes?: number | string | bigint | { toString(): string };
  /** Hex blake3 of the file (a `blake3:` prefix is accepted). */
  blake3?: string;
  /** Presigned URL of the file. */
  url?: string;
}

/** A `cozy:` snapshot as the orchestrator resolves it (`scheduler.v1.ResolvedCozyModel`). */
export interface ResolvedCozyModel {
  snapshot_digest?: string;
  files?: readonly ResolvedCozyModelFile[];
}

/** Presigned `cozy:` snapshots by model id (`resolved_cozy_models_by_id`, `..._by_variant_ref`). */
export type ResolvedCozyModels = Readonly<Record<string, ResolvedCozyModel>>;

/** The release's model keyspace and allowlist (`deployment_artifact_config`). */
export interface ReleaseModels {
  /** `repo_ref_by_key`: the keyspace of functions whose own map is empty. */
  refByKey: Readonly<Record<string, string>>;
  /** `supported_repo_refs`, canonical. Empty means no allowlist (every mapped model may run). */
  allowed: readonly string[];
}

/** Model ids by where they are ready, as registrations report them; downloads in progress are not listed. */
export interface ModelInventory {
  /** Loaded: their sessions are in device memory (or RAM on a CPU worker). */
  vramModels: string[];
  /** Present in the local disk cache. */
  diskModels: string[];
}
