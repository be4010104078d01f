/**
 * `COZY_MANIFEST_PATH` through the built CLI, as the Python SDK (gen-worker 0.2.1) reads it:
 * the commands that discover read that cozy.toml instead of
 * `<dir>/cozy.toml`, and `serve` exits 2 when the installed gen-worker is outside its `gen_worker`
 * range, only warning about a file it cannot parse.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SchedulerServer } from "../../src/dev/scheduler-server.js";
import { GEN_WORKER_VERSION } from "../../src/host/package.js";
import { cli } from "../support/cli.js";
import { tempDir } from "../support/hub-repos.js";
import { REPO_ROOT, startRunner } from "../support/runner-process.js";
import { startWorker, type WorkerProcess } from "../support/worker-process.js";

const PROJECT = join(REPO_ROOT, "test", "projects", "runner");
const toml = (name: string, genWorker = ">=0.1.0 <0.2.0") =>
  `schema_version = 1\nname = "${name}"\nmain = "src/main.ts"\ngen_worker = "${genWorker}"\n`;

let elsewhere: string;
let file: string;
beforeEach(async () => {
  elsewhere = await tempDir("cozy-elsewhere-");
  file = join(elsewhere, "cozy.toml");
});
afterEach(async () => {
  await rm(elsewhere, { recursive: true, force: true });
});

describe("COZY_MANIFEST_PATH for discovery", () => {
  it("discover reads that cozy.toml instead of <dir>/cozy.toml", async () => {
    await writeFile(file, toml("Named Elsewhere"));
    const result = await cli(["discover", PROJECT], { COZY_MANIFEST_PATH: file });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).project_name).toBe("named-elsewhere");
    const plain = await cli(["discover", PROJECT], { COZY_MANIFEST_PATH: "" });
    expect(JSON.parse(plain.stdout).project_name).toBe("runner-test");
  });

  it("discover exits 1 when the file there is missing, naming the variable and the fix", async () => {
    const missing = join(elsewhere, "nope.toml");
    const result = await cli(["discover", PROJECT], { COZY_MANIFEST_PATH: missing });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      `error: ${missing}: not found (COZY_MANIFEST_PATH names it): point COZY_MANIFEST_PATH at the project's cozy.toml, or unset it to read ${join(PROJECT, "cozy.toml")}`,
    );
  });

  it("run --local discovers with it: its warnings point into that file; a missing one stops the runner", async () => {
    const own = await readFile(join(PROJECT, "cozy.toml"), "utf8");
    await writeFile(file, `${own}\n[resources]\nram_gbs = 8\n`);
    const runner = await startRunner(PROJECT, { COZY_MANIFEST_PATH: file });
    try {
      expect(runner.stderr()).toMatch(
        new RegExp(`${file.replaceAll("/", "\\/")}:\\d+:1: resources\\.ram_gbs is not a known key`),
      );
    } finally {
      await runner.stop();
      await rm(runner.outputsDir, { recursive: true, force: true });
    }
    await expect(startRunner(PROJECT, { COZY_MANIFEST_PATH: join(elsewhere, "nope.toml") })).rejects.toThrow(
      "not found (COZY_MANIFEST_PATH names it)",
    );
  });

  it("build refuses a cozy.toml outside the project folder, before any Docker work (exit 2)", async () => {
    await writeFile(file, toml("elsewhere"));
    const result = await cli(["build", PROJECT, "-t", "never-built:1"], { COZY_MANIFEST_PATH: file });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `COZY_MANIFEST_PATH names ${file}, but an image is built from ${join(PROJECT, "cozy.toml")}`,
    );
    expect(result.stderr).toContain(`copy it to ${join(PROJECT, "cozy.toml")} or unset COZY_MANIFEST_PATH`);
  });
});

describe("COZY_MANIFEST_PATH: serve's gen-worker version guard", () => {
  let scheduler: SchedulerServer;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    scheduler = await SchedulerServer.start("127.0.0.1:0");
  });
  afterEach(async () => {
    await worker?.stop("SIGKILL");
    worker = undefined;
  });
  afterAll(async () => {
    await scheduler?.stop();
  });

  it("exits 2 when the installed gen-worker is outside its gen_worker range, naming both and the fix", async () => {
    await writeFile(file, toml("guarded", ">=9.0.0,<10.0.0"));
    const result = await cli(["serve", PROJECT], {
      WORKER_JWT: "t",
      SCHEDULER_ADDR: "127.0.0.1:9",
      COZY_MANIFEST_PATH: file,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `error: ${file} (COZY_MANIFEST_PATH) requires gen_worker ">=9.0.0,<10.0.0", but the installed gen-worker is ${GEN_WORKER_VERSION}: ` +
        `install a matching version (npm install 'gen-worker@>=9.0.0 <10.0.0') and rebuild the image, ` +
        `or widen gen_worker in that cozy.toml to include ${GEN_WORKER_VERSION}`,
    );
    expect(result.stderr).not.toContain("worker ready");
  });

  it("only warns about a file it cannot parse, and starts (on a baked manifest)", async () => {
    const manifest = join(elsewhere, "manifest.json");
    expect((await cli(["discover", PROJECT, "-o", manifest])).code).toBe(0);
    await writeFile(file, 'gen_worker = ">=0.1.0\nname = \n');
    worker = startWorker(PROJECT, { SCHEDULER_ADDR: scheduler.address, COZY_MANIFEST_PATH: file }, [
      "--manifest",
      manifest,
    ]);
    await scheduler.waitForWorker(20_000, { after: scheduler.worker?.stream ?? -1 });
    const warning = worker
      .stderr()
      .split("\n")
      .filter((line) => line.includes("gen_worker version check is skipped"))
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(warning).toHaveLength(1);
    expect(warning[0]?.level).toBe(40);
    expect(warning[0]?.msg).toMatch(new RegExp(`^COZY_MANIFEST_PATH names ${file}, which is not valid TOML`));
  });

  it("starts normally when the range holds, discovering with that cozy.toml", async () => {
    await writeFile(file, toml("in-range", `>=${GEN_WORKER_VERSION}`));
    worker = startWorker(PROJECT, { SCHEDULER_ADDR: scheduler.address, COZY_MANIFEST_PATH: file });
    const connected = await scheduler.waitForWorker(20_000, { after: scheduler.worker?.stream ?? -1 });
    expect(connected.registration.resources?.function_schemas?.length ?? 0).toBeGreaterThan(0);
    expect(worker.stderr()).not.toContain("version check is skipped");
    const discovering = worker
      .stderr()
      .split("\n")
      .find((line) => line.includes("no baked manifest"));
    expect(JSON.parse(discovering ?? "{}")).toMatchObject({ cozyToml: file });
  });
});
