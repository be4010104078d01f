import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startExampleHub } from "./support/example-hub.js";
import {
  DELTA_KEYS,
  REFERENCE_FUNCTION_KEYS,
  REFERENCE_TOP_LEVEL_KEYS,
} from "./support/reference-manifest.js";
import { CLI, REPO_ROOT, type RunnerProcess, startRunner } from "./support/runner-process.js";

const run = promisify(execFile);

it("cozy-worker discover examples/hello prints every key of the reference manifest", async () => {
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

describe("examples/vad", () => {
  let hub: Awaited<ReturnType<typeof startExampleHub>>;
  let runner: RunnerProcess;
  let cacheDir: string;

  beforeAll(async () => {
    hub = await startExampleHub();
    const endpoint = hub.endpoint;
    cacheDir = await mkdtemp(join(tmpdir(), "vad-cache-"));
    runner = await startRunner(
      join(REPO_ROOT, "examples/vad"),
      { HF_ENDPOINT: endpoint, WORKER_MODEL_CACHE_DIR: cacheDir, WORKER_ORT_PROVIDERS: "cpu" },
      ["--files", join(REPO_ROOT, "examples/vad/samples")],
    );
  }, 60_000);

  afterAll(async () => {
    await runner?.stop();
    hub?.stop();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it("finds the two sentences of samples/hello.wav and the pause between them", async () => {
    const { stdout } = await run(process.execPath, [
      CLI,
      "invoke",
      "detectSpeech",
      'audio:={"ref": "hello.wav"}',
      "--url",
      runner.url,
    ]);
    const output = JSON.parse(stdout) as {
      duration_s: number;
      segments: { start_s: number; end_s: number }[];
    };
    expect(output.duration_s).toBeCloseTo(6.15, 1);
    expect(output.segments).toHaveLength(2);
    const [first, second] = output.segments as [
      { start_s: number; end_s: number },
      { start_s: number; end_s: number },
    ];
    // "Hello there." takes the first second; the sample then pauses for 1.2 s.
    expect(first.start_s).toBeLessThan(0.3);
    expect(first.end_s).toBeGreaterThan(0.6);
    expect(first.end_s).toBeLessThan(1.2);
    expect(second.start_s - first.end_s).toBeGreaterThan(0.8);
    expect(second.end_s).toBeGreaterThan(5);
  });

  it("refuses an input ref that leaves the files folder, and says why", async () => {
    const response = await fetch(`${runner.url}/v1/run/detectSpeech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ audio: { ref: "../../hello/cozy.toml" } }),
    });
    const body = (await response.json()) as { success: boolean; safe_message: string; error_message: string };
    expect(body.success).toBe(false);
    expect(`${body.safe_message} ${body.error_message}`).toMatch(
      /invalid file ref "\.\.\/\.\.\/hello\/cozy\.toml": .*'\.\.' segment/,
    );
  });
});
