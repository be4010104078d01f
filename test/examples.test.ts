import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { CLI, REPO_ROOT } from "./support/runner-process.js";

const run = promisify(execFile);

const TOP_LEVEL_KEYS = ["project_name", "functions", "models_by_function", "resources"];
const FUNCTION_KEYS = [
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
];
const DELTA_KEYS = ["delta_type", "delta_schema_sha256", "delta_output_schema"];

it("cozy-worker discover examples/hello prints every key of the reference manifest (reference-behaviour 3.3)", async () => {
  const { stdout } = await run(process.execPath, [CLI, "discover", join(REPO_ROOT, "examples/hello")]);
  const manifest = JSON.parse(stdout) as Record<string, unknown> & { functions: Record<string, unknown>[] };
  expect(Object.keys(manifest)).toEqual(expect.arrayContaining(TOP_LEVEL_KEYS));
  for (const fn of manifest.functions) {
    expect(Object.keys(fn).slice(0, FUNCTION_KEYS.length)).toEqual(FUNCTION_KEYS);
    if (fn.incremental_output) expect(Object.keys(fn)).toEqual(expect.arrayContaining(DELTA_KEYS));
  }
  expect(manifest.functions.some((fn) => fn.incremental_output)).toBe(true);
});
