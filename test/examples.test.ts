import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import {
  DELTA_KEYS,
  REFERENCE_FUNCTION_KEYS,
  REFERENCE_TOP_LEVEL_KEYS,
} from "./support/reference-manifest.js";
import { CLI, REPO_ROOT } from "./support/runner-process.js";

const run = promisify(execFile);

it("cozy-worker discover examples/hello prints every key of the reference manifest (reference-behaviour 3.3)", async () => {
  const { stdout } = await run(process.execPath, [CLI, "discover", join(REPO_ROOT, "examples/hello")]);
  const manifest = JSON.parse(stdout) as Record<string, unknown> & { functions: Record<string, unknown>[] };
  expect(Object.keys(manifest)).toEqual(expect.arrayContaining(REFERENCE_TOP_LEVEL_KEYS));
  for (const fn of manifest.functions) {
    const always = REFERENCE_FUNCTION_KEYS.filter((key) => !DELTA_KEYS.includes(key));
    expect(Object.keys(fn).slice(0, always.length)).toEqual(always);
    if (fn.incremental_output) expect(Object.keys(fn)).toEqual(expect.arrayContaining(DELTA_KEYS));
  }
  expect(manifest.functions.some((fn) => fn.incremental_output)).toBe(true);
});
