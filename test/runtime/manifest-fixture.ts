/** Hand-made manifests for executor tests: one function per entry, schemas as discovery writes them. */
import type { Manifest, ManifestFunction } from "../../src/contract/manifest.js";
import type { TaskRequest } from "../../src/contract/task.js";
import { Executor, type ExecutorOptions, type HandlerTable } from "../../src/runtime/executor.js";
import type { RuntimeSettings } from "../../src/settings/runtime.js";
import { runtimeSettingsFromEnv } from "../../src/settings/runtime.js";

export const DRAFT = "https://json-schema.org/draft/2020-12/schema";

/** The manifest's `$defs.Asset`. */
export const ASSET_DEF = {
  title: "Asset",
  type: "object",
  properties: {
    ref: { type: "string", minLength: 1 },
    owner: { anyOf: [{ type: "string" }, { type: "null" }] },
    local_path: { anyOf: [{ type: "string" }, { type: "null" }] },
    mime_type: { anyOf: [{ type: "string" }, { type: "null" }] },
    size_bytes: { anyOf: [{ type: "integer", minimum: 0 }, { type: "null" }] },
    sha256: { anyOf: [{ type: "string" }, { type: "null" }] },
  },
  required: ["ref"],
};

export function objectSchema(
  properties: Record<string, unknown>,
  required: string[] = Object.keys(properties),
): Record<string, unknown> {
  return { $schema: DRAFT, type: "object", properties, required };
}

/** A single-output function taking `input` and returning `output` (both object schemas). */
export function fn(
  name: string,
  input: Record<string, unknown>,
  output: Record<string, unknown> = { $schema: DRAFT, type: "object" },
): ManifestFunction {
  return {
    name,
    endpoint_name: name.replaceAll("_", "-"),
    module: "src/main.ts",
    resources: {},
    payload_type: { module: "src/main.ts", qualname: "Input" },
    payload_schema_sha256: "",
    input_schema: input,
    output_mode: "single",
    output_type: { module: "src/main.ts", qualname: "Output" },
    output_schema_sha256: "",
    output_schema: output,
    incremental_output: false,
    injection_json: [],
    required_models: [],
    payload_repo_selectors: [],
    export: name,
  };
}

export function makeExecutor(
  functions: ManifestFunction[],
  handlers: HandlerTable,
  options: { settings?: Partial<RuntimeSettings> } & Partial<Omit<ExecutorOptions, "settings">> = {},
): Executor {
  const manifest: Manifest = {
    project_name: "test",
    functions,
    runtime: { language: "typescript", node: ">=20.19.0", gen_worker: "0.1.0", main: "src/main.ts" },
  };
  const { settings, ...rest } = options;
  return new Executor({
    manifest,
    handlers,
    ...rest,
    settings: { ...runtimeSettingsFromEnv({}), ...settings },
  });
}

let counter = 0;

export function task(functionName: string, payload: unknown, extra: Partial<TaskRequest> = {}): TaskRequest {
  return {
    runId: `run-${process.pid}-${++counter}`,
    functionName,
    payload,
    payloadBytes: 0,
    ...extra,
  };
}
