/**
 * `cozy-worker models pull|ls|rm` end to end: the built CLI (bin/cozy-worker.js → dist/, so run
 * `npm run build` first) against the fake hub on loopback, with a temporary cache folder.
 */
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CliResult, cli as runCli } from "../support/cli.js";
import type { FakeHfHub } from "../support/fake-hf-hub.js";
import {
  SELECTED,
  startHubWithCache,
  stopHubWithCache,
  tempDir,
  writeOnnxRepo,
} from "../support/hub-repos.js";
import { REPO_ROOT } from "../support/runner-process.js";

const ROOT = REPO_ROOT;

let root: string;
let cacheDir: string;
let hub: FakeHfHub;

beforeEach(async () => {
  ({ root, cacheDir, hub } = await startHubWithCache("models-cli", (dir) => writeOnnxRepo(dir, "acme/tiny")));
});

afterEach(async () => {
  await stopHubWithCache({ root, cacheDir, hub });
});

function cli(args: string[], cwd = ROOT): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {
    HF_TOKEN: undefined,
    HUGGINGFACE_TOKEN: undefined,
    HUGGINGFACEHUB_API_TOKEN: undefined,
    WORKER_MODEL_CACHE_MAX_GB: undefined,
    HF_ENDPOINT: hub.endpoint,
    WORKER_MODEL_CACHE_DIR: cacheDir,
  };
  for (const name of Object.keys(process.env)) if (name.startsWith("COZY_HF_")) env[name] = undefined;
  return runCli(["models", ...args], env, { cwd });
}

function expectNoStack(result: CliResult): void {
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe("cozy-worker models", () => {
  it("pulls, lists and removes a model", async () => {
    const commit = await hub.commitOf("acme/tiny");
    const pull = await cli(["pull", "hf:acme/tiny", "--json"]);
    expect(pull.stderr).toMatch(/\[\d\/3\] tokenizer\.json .* done/);
    expect(pull.code).toBe(0);
    const snapshot = JSON.parse(pull.stdout) as {
      dir: string;
      commit: string;
      cached: boolean;
      files: unknown[];
    };
    expect(snapshot.commit).toBe(commit);
    expect(snapshot.cached).toBe(false);
    expect(snapshot.files.map((f) => (f as { path: string }).path)).toEqual(SELECTED);
    const model = await readFile(join(snapshot.dir, "onnx", "model.onnx"));
    expect(model.equals(await readFile(join(root, "acme", "tiny", "onnx", "model.onnx")))).toBe(true);

    const again = await cli(["pull", "hf:acme/tiny"]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already cached/);
    expect(again.stdout.trim()).toBe(snapshot.dir);

    const ls = await cli(["ls"]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^REF\s+COMMIT\s+FILES\s+SIZE\s+LAST USED/);
    expect(ls.stdout).toMatch(
      new RegExp(`hf:acme/tiny@main\\s+${commit.slice(0, 12)}\\s+3\\s+\\d+(\\.\\d+)? kB`),
    );
    const lsJson = JSON.parse((await cli(["ls", "--json"])).stdout) as { commit: string; files: number }[];
    expect(lsJson).toEqual([expect.objectContaining({ commit, files: 3, repo: "acme/tiny" })]);

    const removed = await cli(["rm", "hf:acme/tiny"]);
    expect(removed.code).toBe(0);
    expect(removed.stderr).toMatch(/removed hf:acme\/tiny@/);
    expect(JSON.parse((await cli(["ls", "--json"])).stdout)).toEqual([]);
    const missing = await cli(["rm", "hf:acme/tiny"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no cached snapshot matches hf:acme\/tiny/);
  });

  it("pulls a key of the project's cozy.toml", async () => {
    const project = await tempDir("project-");
    await writeFile(
      join(project, "cozy.toml"),
      [
        "schema_version = 1",
        'name = "models-test"',
        'main = "src/main.ts"',
        'gen_worker = ">=0.1.0 <0.2.0"',
        "",
        "[models]",
        'tiny = { ref = "hf:acme/tiny", dtypes = ["int8", "fp32"] }',
        "",
      ].join("\n"),
    );
    const pull = await cli(["pull", "tiny", project, "--json"]);
    expect(pull.code, pull.stderr).toBe(0);
    const snapshot = JSON.parse(pull.stdout) as { files: { path: string }[] };
    expect(snapshot.files.map((f) => f.path)).toEqual([
      "config.json",
      "onnx/model_int8.onnx",
      "tokenizer.json",
    ]);
    const unknown = await cli(["pull", "nope", project]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no model "nope" in .*cozy\.toml; its \[models\] keys: tiny/);
    await rm(project, { recursive: true, force: true });
  });

  it("exits 2 on a bad ref and 1 with a clear message on 401 and 404", async () => {
    const bad = await cli(["pull", "hf:"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/empty hf model ref/);
    const cozy = await cli(["pull", "cozy:acme/tiny"]);
    expect(cozy.code).toBe(2);
    expectNoStack(cozy);

    const notFound = await cli(["pull", "hf:acme/missing"]);
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toMatch(/repo acme\/missing not found/);
    expectNoStack(notFound);

    hub.requireToken = "secret";
    const denied = await cli(["pull", "hf:acme/tiny"]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/refused \(HTTP 401.*set HF_TOKEN/);
    expectNoStack(denied);
  });

  it("two processes pulling the same model into one cache both succeed and leave one copy", async () => {
    hub.faults = { delayMs: 250 };
    const [a, b] = await Promise.all([
      cli(["pull", "hf:acme/tiny", "--json"]),
      cli(["pull", "hf:acme/tiny", "--json"]),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const dirs = [JSON.parse(a.stdout).dir, JSON.parse(b.stdout).dir];
    expect(dirs[0]).toBe(dirs[1]);
    // One process downloaded, the other waited for the lock and found the snapshot done.
    expect([JSON.parse(a.stdout).cached, JSON.parse(b.stdout).cached].sort()).toEqual([false, true]);
    const commit = await hub.commitOf("acme/tiny");
    for (const path of SELECTED) {
      expect(hub.requests.filter((r) => r.path.endsWith(`/resolve/${commit}/${path}`))).toHaveLength(1);
    }
    const snapshots = join(cacheDir, "hf", "acme--tiny", "snapshots");
    const names = (await readdir(snapshots)).filter(
      (name) => !name.endsWith(".used") && !name.endsWith(".json"),
    );
    expect(names).toEqual([commit]);
  });
});
