/**
 * `<runDir>/<run_id>/`: every run's input files are copied there, so it must go once the run has
 * ended and its handler has stopped, unless `keepRunDirs`. Nothing else may go with it.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ActionContext, Asset } from "../../src/contract/handler-api.js";
import type { Executor } from "../../src/runtime/executor.js";
import type { RuntimeSettings } from "../../src/settings/runtime.js";
import { makeTempDir, startFakeFileApi, startServer, type TestServer } from "./files/servers.js";
import { ASSET_DEF, DRAFT, fn, makeExecutor, task } from "./manifest-fixture.js";

const readAsset = fn("read_asset", {
  $schema: DRAFT,
  type: "object",
  properties: { image: { $ref: "#/$defs/Asset" }, mode: { type: "string" } },
  required: ["image"],
  $defs: { Asset: ASSET_DEF },
});

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let web: TestServer;
let runDir: string;
let cacheDir: string;
/** Lets a handler in "linger" mode finish. */
let releaseLinger: () => void = () => {};

beforeEach(async () => {
  tmp = await makeTempDir();
  runDir = join(tmp.path, "runs");
  cacheDir = join(tmp.path, "cache");
  web = await startServer((req, res) => {
    res.writeHead(200).end(`bytes of ${req.url}`);
  });
});

afterEach(async () => {
  releaseLinger();
  await web.close();
  await tmp.remove();
});

/** Reads its input file; "fail" throws after reading, "linger" ignores a cancel until released. */
async function handler(ctx: ActionContext, input: { image: Asset; mode?: string }) {
  const text = new TextDecoder().decode(await input.image.readBytes());
  if (input.mode === "fail") throw new Error("handler failed after reading its input");
  if (input.mode === "linger") {
    await new Promise<void>((done) => {
      releaseLinger = done;
    });
    // The file is still there while the handler runs, though the run has ended.
    await input.image.readBytes();
  }
  ctx.throwIfCanceled();
  return { text };
}

function executor(settings: Partial<RuntimeSettings> = {}, outputsDir?: string): Executor {
  return makeExecutor(
    [readAsset],
    { read_asset: handler },
    {
      settings: { runDir, cacheDir, inputUrlAllowHosts: [`127.0.0.1:${web.port}`], ...settings },
      ...(outputsDir ? { outputsDir } : {}),
    },
  );
}

const image = (name: string) => ({ ref: `${web.origin}/${name}.txt` });

describe("run folders", () => {
  it("after 1,000 runs with URL and Cozy file inputs: no run folder is left, and the input cache stays within its cap", async () => {
    const files = await startFakeFileApi();
    const cap = 20_000;
    try {
      const exec = executor({ cacheMaxBytes: cap });
      for (let batch = 0; batch < 1000; batch += 50) {
        const runs = Array.from({ length: 50 }, (_, i) => {
          const n = batch + i;
          const ref = `u/in-${n % 200}.bin`;
          files.files.set(ref, { data: Buffer.from(`cozy file ${n % 200} `.padEnd(1000, ".")) });
          // Every other run reads a URL (copied into its folder), the rest a Cozy file (cached, linked).
          const image = n % 2 === 0 ? { ref: `${web.origin}/url-${n}.txt` } : { ref };
          return exec.run(task("read_asset", { image }, { runId: `r-${n}`, fileBaseUrl: files.origin }));
        });
        const results = await Promise.all(runs);
        expect(results.filter((r) => !r.success).map((r) => r.errorMessage)).toEqual([]);
      }
      await exec.drain(5_000);
      expect(await readdir(runDir)).toEqual([]);
      let cached = 0;
      for (const name of await readdir(cacheDir)) cached += (await stat(join(cacheDir, name))).size;
      expect(cached).toBeGreaterThan(0);
      expect(cached).toBeLessThanOrEqual(cap);
    } finally {
      await files.close();
    }
  }, 60_000);

  it("are removed after runs that succeed, fail or time out, once their handlers stop", async () => {
    const exec = executor();
    const results = await Promise.all([
      exec.run(task("read_asset", { image: image("a") }, { runId: "ok-1" })),
      exec.run(task("read_asset", { image: image("b") }, { runId: "ok-2" })),
      exec.run(task("read_asset", { image: image("c"), mode: "fail" }, { runId: "failed" })),
    ]);
    expect(results.map((r) => r.success)).toEqual([true, true, false]);
    expect(results[0]?.output).toEqual({ text: "bytes of /a.txt" });

    const lingering = await exec.run(
      task("read_asset", { image: image("d"), mode: "linger" }, { runId: "lingering", timeoutMs: 50 }),
    );
    expect(lingering).toMatchObject({ success: false, timedOut: true });
    // Its handler has not stopped yet, so its input stays.
    expect(await readdir(join(runDir, "lingering", "inputs"))).toHaveLength(1);
    releaseLinger();

    await exec.drain(5_000);
    expect(await readdir(runDir)).toEqual([]);
  });

  it("are kept with keepRunDirs (WORKER_KEEP_RUN_DIRS)", async () => {
    const exec = executor({ keepRunDirs: true });
    for (const runId of ["kept-1", "kept-2"]) {
      const result = await exec.run(task("read_asset", { image: image(runId) }, { runId }));
      expect(result.success).toBe(true);
    }
    await exec.drain(5_000);
    expect((await readdir(runDir)).sort()).toEqual(["kept-1", "kept-2"]);
    expect(await readdir(join(runDir, "kept-1", "inputs"))).toHaveLength(1);
  });

  it("take nothing else with them: not the outputs, not a cache or models folder a run id names", async () => {
    // The worst layout: outputs, the input cache and a model cache all inside the run directory.
    const outputsDir = runDir;
    const exec = makeExecutor(
      [readAsset],
      {
        read_asset: async (ctx: ActionContext, input: { image: Asset }) => ({
          saved: (await ctx.saveBytes("result.txt", await input.image.readBytes())).ref,
        }),
      },
      {
        settings: { runDir, cacheDir: join(runDir, "cache"), inputUrlAllowHosts: [`127.0.0.1:${web.port}`] },
        outputsDir,
      },
    );
    await mkdir(join(runDir, "cache"), { recursive: true });
    await writeFile(join(runDir, "cache", "0123abcd.png"), "cached input");
    await mkdir(join(runDir, "models", "blobs"), { recursive: true });
    await writeFile(join(runDir, "models", "blobs", "weights"), "model");
    for (const runId of ["runs", "cache", "models", "plain"]) {
      const result = await exec.run(task("read_asset", { image: image(runId) }, { runId }));
      expect(result).toMatchObject({ success: true, output: { saved: `runs/${runId}/outputs/result.txt` } });
    }
    await exec.drain(5_000);
    for (const runId of ["runs", "cache", "models", "plain"]) {
      const saved = join(outputsDir, "runs", runId, "outputs", "result.txt");
      expect(await readFile(saved, "utf8")).toBe(`bytes of /${runId}.txt`);
      expect(existsSync(join(runDir, runId, "inputs"))).toBe(false);
    }
    expect(await readFile(join(runDir, "cache", "0123abcd.png"), "utf8")).toBe("cached input");
    expect(await readFile(join(runDir, "models", "blobs", "weights"), "utf8")).toBe("model");
  });
});
