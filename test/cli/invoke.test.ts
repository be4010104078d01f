/**
 * `cozy-worker invoke` against dev runners: the built CLI as a developer runs it. Fields are typed
 * by the schema a runner lists at GET /v1/functions (the runners here are wired in this process
 * from the real parts); failures and their messages come from `cozy-worker run --local`.
 */
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_RUNNER_FILE_API_MESSAGE } from "../../src/runtime/files/file-api.js";
import { cli } from "../support/cli.js";
import {
  REPO_ROOT,
  type RunnerProcess,
  removeTenantBundles,
  startRunner,
} from "../support/runner-process.js";
import { type InProcessRunner, startInProcessRunner } from "./in-process-runner.js";

const TYPED = join(REPO_ROOT, "test/cli/projects/typed");
const RUNNER = join(REPO_ROOT, "test/projects/runner");
const SAMPLES = join(REPO_ROOT, "examples/vad/samples");

function invoke(url: string, args: string[]) {
  return cli(["invoke", ...args, "--url", url], {}, { timeout: 30_000 });
}

/** The payload the `typed` endpoint received. */
function received(stdout: string): Record<string, unknown> {
  return JSON.parse((JSON.parse(stdout) as { json: string }).json) as Record<string, unknown>;
}

function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("error:"));
}

describe("invoke: key=value typed by the endpoint's schema", () => {
  let runner: InProcessRunner;
  let scratch: string;

  beforeAll(async () => {
    runner = await startInProcessRunner(TYPED);
    scratch = await mkdtemp(join(tmpdir(), "cozy-invoke-fields-"));
  });

  afterAll(async () => {
    await runner?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("reads integer, number and boolean fields as such", async () => {
    const { code, stdout, stderr } = await invoke(runner.url, [
      "typed",
      "text=hi",
      "count=3",
      "ratio=0.5",
      "loud=true",
    ]);
    expect([code, stderr]).toEqual([0, ""]);
    expect(received(stdout)).toEqual({ text: "hi", count: 3, ratio: 0.5, loud: true });
  });

  it("follows $refs into $defs, through a $ref nested in the target", async () => {
    // threshold: $ref Threshold (number or null); quality: $ref MaybeQuality, whose anyOf holds $ref Quality.
    const numbers = await invoke(runner.url, ["typed", "text=hi", "threshold=0.25", "quality=2"]);
    expect(received(numbers.stdout)).toEqual({ text: "hi", threshold: 0.25, quality: 2 });
    const nulls = await invoke(runner.url, ["typed", "text=hi", "threshold=null", "quality=null"]);
    expect(received(nulls.stdout)).toEqual({ text: "hi", threshold: null, quality: null });
  });

  it("keeps a string field a string, and an ambiguous anyOf as written", async () => {
    // note: string or null; label: number or string.
    const { code, stdout } = await invoke(runner.url, [
      "typed",
      "text=42",
      "note=null",
      "label=3",
      "mode=loud",
    ]);
    expect(code).toBe(0);
    expect(received(stdout)).toEqual({ text: "42", note: "null", label: "3", mode: "loud" });
  });

  it("sends key:=<json> and key@<file> as before", async () => {
    const file = join(scratch, "text.txt");
    await writeFile(file, "from a file");
    const { code, stdout } = await invoke(runner.url, [
      "typed",
      `text@${file}`,
      "count:=4",
      'tags:=["a","b"]',
    ]);
    expect(code).toBe(0);
    expect(received(stdout)).toEqual({ text: "from a file", count: 4, tags: ["a", "b"] });
  });

  it("refuses a value that no type of the field reads, before the run, naming the fix", async () => {
    const integer = await invoke(runner.url, ["typed", "text=hi", "count=three"]);
    expect([integer.code, errorLines(integer.stderr)]).toEqual([
      2,
      ["error: count=three: count takes an integer"],
    ]);
    const array = await invoke(runner.url, ["typed", "text=hi", "tags=a"]);
    expect(errorLines(array.stderr)).toEqual([
      "error: tags=a: tags takes an array; write it as JSON: tags:=<json>",
    ]);
  });

  it("warns about an unknown field with the nearest known one, and still runs", async () => {
    const { code, stdout, stderr } = await invoke(runner.url, [
      "typed",
      "text=hi",
      "treshold=0.5",
      "lable=x",
    ]);
    expect(code).toBe(0);
    expect(stderr).toBe(
      'warning: typed has no field "treshold" (did you mean "threshold"?); sending it anyway\n' +
        'warning: typed has no field "lable" (did you mean "label"?); sending it anyway\n',
    );
    expect(received(stdout)).toEqual({ text: "hi", treshold: "0.5", lable: "x" });
  });

  it("lists the fields when no known one is close", async () => {
    const { code, stderr } = await invoke(runner.url, ["typed", "text=hi", "colour=red"]);
    expect(code).toBe(0);
    expect(stderr).toBe(
      'warning: typed has no field "colour" (its fields: text, count, ratio, loud, threshold, quality, note, label, mode, tags, image); sending it anyway\n',
    );
  });
});

describe("invoke: Asset fields", () => {
  let runner: InProcessRunner;

  beforeAll(async () => {
    runner = await startInProcessRunner(RUNNER, { filesDir: SAMPLES });
  });

  afterAll(async () => {
    await runner?.close();
  });

  it('sends asset=path as {"ref": path}, which the runner reads from its --files folder', async () => {
    const { code, stdout, stderr } = await invoke(runner.url, ["read_asset", "image=hello.wav"]);
    expect([code, stderr]).toEqual([0, ""]);
    const output = JSON.parse(stdout) as { size: number; mime: string };
    expect(output).toMatchObject({ size: (await stat(join(SAMPLES, "hello.wav"))).size, mime: "audio/wav" });
  });

  it("refuses key@file for an Asset: the file's text is not a ref", async () => {
    const { code, stderr } = await invoke(runner.url, ["read_asset", "image@hello.wav"]);
    expect(code).toBe(2);
    expect(errorLines(stderr)).toEqual([
      "error: image@hello.wav would send the file's text, but image is an Asset: write image=<ref>, a path inside the folder the file API serves (run --local --files <dir>) or an http(s) URL",
    ]);
  });
});

describe("invoke: a runner that does not list its fields", () => {
  let runner: InProcessRunner;

  beforeAll(async () => {
    runner = await startInProcessRunner(RUNNER, { listFunctions: false });
  });

  afterAll(async () => {
    await runner?.close();
  });

  it("says once that key=value fields go as strings, and sends them so", async () => {
    const { code, stderr } = await invoke(runner.url, ["echo", "text=hi", "times=3"]);
    expect(code).toBe(1);
    expect(stderr.split("\n").filter(Boolean)).toEqual([
      `warning: key=value fields are sent as strings: the dev runner at ${runner.url} does not list its endpoints' fields (it runs an older gen-worker); write key:=<json> for numbers, booleans, null and files ({"ref": "<file or URL>"})`,
      expect.stringMatching(
        /^error: run \S+ failed \(validation\): invalid input: \$\.times must be integer$/,
      ),
    ]);
  });
});

describe("invoke: failures from cozy-worker run --local", () => {
  let runner: RunnerProcess;

  beforeAll(async () => {
    runner = await startRunner(RUNNER);
  });

  afterAll(async () => {
    await runner?.stop();
    await removeTenantBundles(RUNNER, runner?.child.pid);
    if (runner) await rm(runner.outputsDir, { recursive: true, force: true });
  });

  it("prints a failed run once, with its own message", async () => {
    const validation = await invoke(runner.url, ["fail_with", "kind=validation"]);
    expect(validation.code).toBe(1);
    expect(errorLines(validation.stderr)).toEqual([
      expect.stringMatching(
        /^error: run \S+ failed \(validation\): prompt is too long for model hf:acme\/det$/,
      ),
    ]);
    const bug = await invoke(runner.url, ["fail_with", "kind=type"]);
    expect(errorLines(bug.stderr)).toEqual([
      expect.stringMatching(
        /^error: run \S+ failed \(internal\): TypeError: cannot read properties of undefined \(reading 'x'\) at \/srv\/app\/src\/main\.ts$/,
      ),
    ]);
  });

  it('shows the shape an Asset takes: {"ref": "<file or URL>"}', async () => {
    const { code, stderr } = await invoke(runner.url, ["read_asset", 'image:="hello.wav"']);
    expect(code).toBe(1);
    expect(errorLines(stderr)).toEqual([
      expect.stringMatching(
        /^error: run \S+ failed \(validation\): invalid input: \$\.image must be an object \{"ref": "<file or URL>"\}$/,
      ),
    ]);
  });

  it("names --files when the runner has no file API for an input file", async () => {
    const { code, stderr } = await invoke(runner.url, ["read_asset", 'image:={"ref": "hello.wav"}']);
    expect(code).toBe(1);
    expect(errorLines(stderr)).toEqual([
      expect.stringMatching(/^error: run \S+ failed \(validation\): input asset at \$\.image: /),
    ]);
    expect(stderr).toContain(`input asset at $.image: ${DEV_RUNNER_FILE_API_MESSAGE}`);
    expect(DEV_RUNNER_FILE_API_MESSAGE).toContain(
      "start the runner with --files <dir> to serve input files from a folder",
    );
    expect(stderr).not.toContain("FILE_API_BASE_URL");
  });
});
