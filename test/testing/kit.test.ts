/**
 * The test kit (gen-worker/testing) runs endpoints in-process as production does: validation with
 * defaults, events, progress, files in memory, injected models (fakes and real ONNX files),
 * output checks, cancellation and timeouts.
 */
import { join } from "node:path";
import { Tensor } from "onnxruntime-common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestKit } from "../../src/testing/index.js";
import { PROJECTS, SILERO_VAD, testing } from "./testing-module.js";

const KIT_PROJECT = join(PROJECTS, "kit");

/** A fake `doubler` model: `y = 2x`, and the feeds it was called with. */
function fakeDoubler() {
  const calls: Record<string, unknown>[] = [];
  return {
    calls,
    model: {
      session: {
        run: async (feeds: Record<string, Tensor>) => {
          calls.push(feeds);
          const x = feeds.x as Tensor;
          return {
            y: new Tensor(
              "float32",
              (x.data as Float32Array).map((v) => v * 2),
              x.dims,
            ),
          };
        },
      },
    },
  };
}

let kit: TestKit;
const doubler = fakeDoubler();

beforeAll(async () => {
  kit = await testing.testKit(KIT_PROJECT, {
    models: { doubler: doubler.model, vad: SILERO_VAD },
    files: join(KIT_PROJECT, "samples"),
  });
}, 60_000);

afterAll(async () => {
  await kit?.close();
});

describe("validation", () => {
  it("fills in @default values before the handler runs", async () => {
    const r = await kit.run("greet", { name: "Ada" });
    expect(r.error).toBeUndefined();
    expect(r.output).toEqual({ text: "Hello, Ada! Hello, Ada!", times: 2 });
  });

  it("refuses a payload its schema rejects, naming the field, without calling the handler", async () => {
    const r = await kit.run("greet", { name: "" });
    expect(r.success).toBe(false);
    expect(r.error).toMatchObject({ errorType: "validation", retryable: false });
    expect(r.error?.safeMessage).toMatch(/\$\.name must NOT have fewer than 1 characters/);
    expect(r.logs).toEqual([]);
  });

  it("accepts the endpoint slug as well as the function name", async () => {
    expect((await kit.run("greet", { name: "x", times: 1 })).output).toEqual({ text: "Hello, x!", times: 1 });
    expect(kit.endpoints).toContain("greet");
  });

  it("rejects an unknown endpoint and lists the real ones", async () => {
    await expect(kit.run("gret", {})).rejects.toThrow(/no endpoint "gret": its endpoints are .*greet/);
  });
});

describe("events", () => {
  it("records progress, logs, custom events and the metrics in production's order", async () => {
    const r = await kit.run("greet", { name: "Ada" });
    expect(r.progress).toEqual([{ progress: 0.5, stage: "greeting" }]);
    expect(r.logs).toEqual([{ message: "greeting Ada", level: "info" }]);
    const names = r.events.map((event) => (event.type === "custom" ? `custom:${event.name}` : event.type));
    expect(names).toEqual([
      "metrics.compute.started",
      "job.progress",
      "job.log",
      "custom:greeted",
      "metrics.compute.completed",
      "metrics.inference",
      "metrics.run",
    ]);
    expect(r.events.every((event) => event.runId === r.runId)).toBe(true);
  });

  it("collects a stream's deltas in order, with its progress", async () => {
    const r = await kit.run("count", { to: 3 });
    expect(r.success).toBe(true);
    expect(r.output).toBeNull();
    expect(r.deltas).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(r.progress.map((p) => p.progress)).toEqual([1 / 3, 2 / 3, 1]);
    expect(r.events.map((event) => event.type)).toContain("output.completed");
  });
});

describe("files", () => {
  it("keeps saved files in memory, by name, and returns their refs as production does", async () => {
    const r = await kit.run("render", { text: "hi" });
    expect(r.error).toBeUndefined();
    expect(Object.keys(r.files)).toEqual(["out/text.txt"]);
    expect(new TextDecoder().decode(r.files["out/text.txt"])).toBe("hi|");
    expect(r.output).toMatchObject({
      file: { ref: `runs/${r.runId}/outputs/out/text.txt`, size_bytes: 3, mime_type: "text/plain" },
    });
  });

  it("serves an Asset given as bytes, as a ref of the files folder, or added with addFile", async () => {
    const bytes = await kit.run("render", { text: "a", source: new TextEncoder().encode("inline") });
    expect(bytes.output).toMatchObject({ sourceText: "inline" });
    const folder = await kit.run("render", { text: "b", source: { ref: "note.txt" } });
    expect(folder.output).toMatchObject({ sourceText: "hello from a sample file\n" });
    const added = kit.addFile("later/added.txt", new TextEncoder().encode("added"));
    expect((await kit.run("render", { text: "c", source: added })).output).toMatchObject({
      sourceText: "added",
    });
    expect(await kit.inputFiles()).toEqual(["note.txt"]);
  });

  it("fails a run whose input file does not exist as the client's error", async () => {
    const r = await kit.run("render", { text: "x", source: { ref: "missing.txt" } });
    expect(r.error).toMatchObject({ errorType: "validation" });
    expect(r.error?.errorMessage).toMatch(/input file not found: missing\.txt/);
  });
});

describe("errors and output checks", () => {
  it("reports a handler's ValidationError as validation, with its message", async () => {
    const r = await kit.run("fail", { how: "bad" });
    expect(r.error).toMatchObject({ errorType: "validation", safeMessage: "bad input: send something else" });
  });

  it("reports any other error as internal, with the handler's source-mapped stack", async () => {
    const r = await kit.run("fail", { how: "bug" });
    expect(r.error).toMatchObject({
      errorType: "internal",
      safeMessage: "internal error",
      errorMessage: "RangeError: the handler has a bug",
    });
    expect(r.error?.stack).toMatch(/at fail \(.*projects\/kit\/src\/main\.ts:\d+:\d+\)/);
  });

  it("checks the output against the declared type", async () => {
    const wrongType = await kit.run("broken", { mode: "number" });
    expect(wrongType.error?.errorType).toBe("internal");
    expect(wrongType.error?.errorMessage).toMatch(
      /does not match its declared type: \$\.value must be string/,
    );
    const missing = await kit.run("broken", { mode: "missing" });
    expect(missing.error?.errorMessage).toMatch(/\$\.value is required/);
  });
});

describe("cancellation and timeouts", () => {
  it("ends a run past its timeout, even one that ignores its signal", async () => {
    const started = performance.now();
    const r = await kit.run("wait", { ms: 20_000, ignoreSignal: true }, { timeoutMs: 100 });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(r.timedOut).toBe(true);
    expect(r.error).toMatchObject({ errorType: "canceled" });
    expect(r.error?.errorMessage).toMatch(/timed out after 100 ms/);
  });

  it("cancels a run when its AbortSignal aborts", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("the user gave up")), 50);
    const r = await kit.run("wait", { ms: 20_000 }, { signal: controller.signal });
    expect(r.timedOut).toBe(false);
    expect(r.error).toMatchObject({ errorType: "canceled" });
    expect(r.error?.errorMessage).toMatch(/the user gave up/);
  });

  it("cancels at once with a signal that is already aborted", async () => {
    const r = await kit.run("wait", { ms: 20_000 }, { signal: AbortSignal.abort() });
    expect(r.error?.errorType).toBe("canceled");
  });
});

describe("models", () => {
  it("injects a fake model, with the keyspace's ref", async () => {
    const r = await kit.run("double", { values: [1, 2.5] });
    expect(r.error).toBeUndefined();
    expect(r.output).toEqual({ values: [2, 5], ref: "hf:example/doubler" });
    expect(doubler.calls).toHaveLength(1);
  });

  it("injects a real ONNX model from a local .onnx file", async () => {
    const r = await kit.run("silence", {});
    expect(r.error).toBeUndefined();
    const output = r.output as { probability: number; inputs: string[] };
    expect(output.probability).toBeGreaterThanOrEqual(0);
    expect(output.probability).toBeLessThan(0.2);
    expect(output.inputs).toContain("sr");
  });

  it("rejects a run whose model the kit was not given, saying what to pass", async () => {
    const bare = await testing.testKit(KIT_PROJECT);
    try {
      await expect(bare.run("double", { values: [1] })).rejects.toThrow(
        /double injects the model doubler, which the test kit was not given: testKit\(dir, \{ models: \{ "doubler": "path\/to\/model\.onnx" \} \}\)/,
      );
      // Endpoints without models still run.
      expect((await bare.run("greet", { name: "x" })).success).toBe(true);
    } finally {
      await bare.close();
    }
  });

  it("refuses a model path that does not exist when the kit is made", async () => {
    await expect(testing.testKit(KIT_PROJECT, { models: { vad: "/nowhere/model.onnx" } })).rejects.toThrow(
      /models\.vad: \/nowhere\/model\.onnx does not exist: give the path of a \.onnx file or of a folder/,
    );
  });
});

describe("the kit itself", () => {
  it("refuses runs once closed", async () => {
    const other = await testing.testKit(KIT_PROJECT);
    await other.close();
    await expect(other.run("greet", { name: "x" })).rejects.toThrow(/this test kit is closed/);
  });

  it("discovers a project once per process: kits of one project share the manifest", async () => {
    const again = await testing.testKit(KIT_PROJECT);
    await again.close();
    expect(again.manifest).toBe(kit.manifest);
  });
});
