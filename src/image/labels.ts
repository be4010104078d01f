import type { Manifest } from "../contract/manifest.js";
import { schemaHash } from "../util/canonical-json.js";

export const LABEL_MANIFEST_SHA256 = "cozy.manifest.sha256";
export const LABEL_GEN_WORKER_VERSION = "cozy.gen-worker.version";
export const LABEL_PROJECT = "cozy.project.name";

/** The labels a built image carries: its manifest's hash (canonical JSON), gen-worker's version, the project. */
export function imageLabels(manifest: Manifest): Record<string, string> {
  return {
    [LABEL_MANIFEST_SHA256]: schemaHash(manifest),
    [LABEL_GEN_WORKER_VERSION]: manifest.runtime.gen_worker,
    [LABEL_PROJECT]: manifest.project_name,
  };
}
