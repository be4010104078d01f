/**
 * Schema-derived fuzzing: `cozy-worker test --fuzz N` finds planted bugs and prints the shrunk
 * payload and the handler's stack, reproduces a run from its seed, and passes on the examples;
 * `fuzz()` reports each kind of finding with the smallest payload that causes it.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FuzzFinding, FuzzReport, TestKit } from "../../src/testing/index.js";
import { cli } from "../support/cli.js";
import { PROJECTS, REPO_ROOT, SILERO_VAD, testing } from "./testing-module.js";

const PLANTED = join(PROJECTS, "planted-bug");

describe("cozy-worker test --fuzz", () => {
  it("finds the planted bug, prints the shrunk payload and the stack, and exits 1", async () => {
    const { code, stdout } = await cli(["test", PLANTED, "--fuzz", "200", "--seed", "1"]);
    expect(code).toBe(1);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("fuzzing 2 endpoints with 200 payloads each, seed 1, timeout 5000 ms");
    expect(stdout).toMatch(/ {2}ok {4}count: 200 payloads, \d+ refused by the handler\n/);
    expect(stdout).toMatch(/ {2}FAIL {2}shout: internal error on payload \d+, shrunk in \d+ steps?\n/);
    expect(stdout).toContain('        payload: {"text":""}\n');
    expect(stdout).toContain(
      "        error:   TypeError: Cannot read properties of undefined (reading 'toUpperCase')\n",
    );
    expect(stdout).toMatch(/\n {10}at shout \(src\/main\.ts:12:\d+\)\n/);
    expect(stdout).toContain(
      `        again:   cozy-worker test ${PLANTED} --fuzz 200 --seed 1 --endpoint shout\n`,
    );
    expect(lines.at(-1)).toBe("1 of 2 endpoints failed (seed 1)");
  });

  it("reproduces a run from its seed, and prints a seed when none is given", async () => {
    const first = await cli(["test", PLANTED, "--fuzz", "50", "--seed", "987654"]);
    const second = await cli(["test", PLANTED, "--fuzz", "50", "--seed", "987654"]);
    expect(second.stdout).toBe(first.stdout);
    const unseeded = await cli(["test", PLANTED, "--fuzz", "20", "--endpoint", "count"]);
    expect(unseeded.code).toBe(0);
    expect(unseeded.stdout).toMatch(/^fuzzing 1 endpoint with 20 payloads each, seed \d+, timeout 5000 ms\n/);
  });

  it("passes on examples/hello", async () => {
    const { code, stdout } = await cli(["test", join(REPO_ROOT, "examples/hello"), "--fuzz", "200"]);
    expect(stdout).toMatch(
      /ok {4}card: 200 payloads\n {2}ok {4}hello: 200 payloads\n {2}ok {4}words: 200 payloads\n/,
    );
    expect(code).toBe(0);
  });

  it("passes on examples/vad with its model injected from a local file and its sample served", async () => {
    const vad = join(REPO_ROOT, "examples/vad");
    const { code, stdout } = await cli([
      "test",
      vad,
      "--fuzz",
      "25",
      "--model",
      `vad=${SILERO_VAD}`,
      "--files",
      join(vad, "samples"),
    ]);
    expect(stdout).toMatch(/ok {4}detectSpeech: 25 payloads\n/);
    expect(code).toBe(0);
  }, 120_000);

  it("says how to give a model the project injects, and exits 2", async () => {
    const { code, stderr } = await cli(["test", join(REPO_ROOT, "examples/vad"), "--fuzz", "5"]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'detectSpeech injects model "vad": give it with --model vad=path/to/model.onnx (a .onnx file or a folder of graphs), or add --download',
    );
  });

  it("reports an error that escapes the handler (a throw from a timer) as a crash", async () => {
    const { code, stdout } = await cli([
      "test",
      join(PROJECTS, "findings"),
      "--fuzz",
      "50",
      "--seed",
      "3",
      "--endpoint",
      "crash",
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL {2}crash: uncaught error \(crash\) on payload \d+, shrunk in \d+ steps?\n/);
    expect(stdout).toContain('        payload: {"tick":true}\n');
    expect(stdout).toContain("        error:   uncaught Error: boom from a timer\n");
    expect(stdout).toMatch(/at Timeout\._onTimeout \(src\/main\.ts:\d+:\d+\)/);
  });
});

describe("cozy-worker test, watching the fuzzer from outside", () => {
  it("stops a handler that blocks the event loop, prints its payload and exits 1", async () => {
    const temp = await mkdtemp(join(tmpdir(), "fuzz-blocked-"));
    const { code, stdout } = await cli(
      [
        "test",
        join(PROJECTS, "findings"),
        "--fuzz",
        "50",
        "--seed",
        "42",
        "--timeout-ms",
        "200",
        "--endpoint",
        "spin",
        "--endpoint",
        "label",
      ],
      { TMPDIR: temp },
    );
    // The killed child's temporary folders went with it.
    const left = await readdir(temp);
    await rm(temp, { recursive: true, force: true });
    expect(left).toEqual([]);
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /FAIL {2}spin: blocked the event loop \(no sign of life for \d+ s during a run with a 200 ms timeout\); the fuzzer was stopped, so the payload is not shrunk\n {8}payload: \{"n":\d+\}\n/,
    );
    const n = Number(/"n":(\d+)/.exec(stdout)?.[1]);
    expect(n).toBeGreaterThan(100);
    expect(stdout).toContain("the fuzzer was stopped at spin: endpoints after it were not fuzzed");
    expect(stdout).not.toContain("label:");
  }, 60_000);
});

describe("fuzz()", () => {
  let kit: TestKit;
  let report: FuzzReport;

  beforeAll(async () => {
    kit = await testing.testKit(join(PROJECTS, "findings"));
    report = await testing.fuzz(kit, {
      runs: 100,
      seed: 42,
      timeoutMs: 200,
      endpoints: ["label", "hang", "words", "firstByte", "depth"],
    });
  }, 120_000);

  afterAll(async () => {
    await kit?.close();
  });

  const finding = (endpoint: string): FuzzFinding => {
    const found = report.endpoints.find((result) => result.endpoint === endpoint)?.finding;
    if (!found) throw new Error(`no finding for ${endpoint}: ${JSON.stringify(report.endpoints)}`);
    return found;
  };

  it("reports an output that breaks the declared type, shrunk to the boundary", () => {
    expect(finding("label")).toMatchObject({
      kind: "invalid-output",
      payload: { n: 1001 },
      reproduced: true,
    });
    expect(finding("label")?.error.errorMessage).toMatch(/\$\.label must be string/);
  });

  it("reports a run past its timeout, shrunk to the fewest items", () => {
    expect(finding("hang")).toMatchObject({ kind: "timeout", payload: { items: ["", "", ""] } });
  });

  it("reports a stream that throws, with the handler's stack", () => {
    const found = finding("words");
    expect(found.kind).toBe("internal");
    const text = (found.payload as { text: string }).text;
    expect(text.split(" ").some((word) => word.length > 5)).toBe(true);
    expect(text.length).toBe(6);
    expect(found.error.stack).toMatch(/at words \(.*findings\/src\/main\.ts:\d+:\d+\)/);
  });

  it("generates files for Asset fields and reports the one that breaks the handler", () => {
    const found = finding("firstByte");
    expect(found.kind).toBe("internal");
    const ref = (found.payload as { file: { ref: string } }).file.ref;
    expect(Object.keys(found.files)).toEqual([ref]);
    expect(found.files[ref]?.byteLength).toBe(0);
  });

  it("goes deep enough into recursive types to find a bug four levels down", () => {
    const found = finding("depth");
    expect(found.kind).toBe("internal");
    expect(JSON.stringify(found.payload)).toBe(
      '{"tree":{"value":"","children":[{"value":"","children":[{"value":"","children":[{"value":""}]}]}]}}',
    );
  });

  it("says the report failed, and formats it as the command does", () => {
    expect(report.ok).toBe(false);
    const text = testing.formatFuzzReport(report, { projectDir: join(PROJECTS, "findings") });
    expect(text.split("\n")[0]).toBe("fuzzing 5 endpoints with 100 payloads each, seed 42, timeout 200 ms");
    expect(text).toContain('        payload: {"n":1001}');
    expect(text.split("\n").at(-1)).toBe("5 of 5 endpoints failed (seed 42)");
  });

  it("passes an endpoint whose failures are all on purpose", async () => {
    const planted = await testing.testKit(PLANTED);
    try {
      const result = await testing.fuzz(planted, { runs: 100, seed: 5, endpoints: ["count"] });
      expect(result.ok).toBe(true);
      expect(result.endpoints[0]).toMatchObject({ endpoint: "count", runs: 100 });
      expect(result.endpoints[0]?.finding).toBeUndefined();
    } finally {
      await planted.close();
    }
  });

  it("injects local models while fuzzing", async () => {
    const vad = await testing.testKit(join(REPO_ROOT, "examples/vad"), {
      models: { vad: SILERO_VAD },
      files: join(REPO_ROOT, "examples/vad/samples"),
    });
    try {
      const result = await testing.fuzz(vad, { runs: 5, seed: 9 });
      expect(result.ok).toBe(true);
    } finally {
      await vad.close();
    }
  }, 60_000);
});
