import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/contract/events.js";
import type { ActionContext } from "../../src/contract/handler-api.js";
import type { ManifestFunction } from "../../src/contract/manifest.js";
import type { TaskRequest } from "../../src/contract/task.js";
import type { Executor, HandlerTable } from "../../src/runtime/executor.js";
import { runtimeSettingsFromEnv } from "../../src/settings/runtime.js";
import { DRAFT, makeExecutor, objectSchema, fn as singleOutput } from "./manifest-fixture.js";

/** A function with an optional `text` in and a `text` out, in `mode`. */
function fn(
  name: string,
  mode: "single" | "incremental",
  options: Partial<ManifestFunction> = {},
): ManifestFunction {
  return {
    ...singleOutput(
      name,
      objectSchema({ text: { type: "string" } }, []),
      objectSchema({ text: { type: "string" } }),
    ),
    output_mode: mode,
    incremental_output: mode === "incremental",
    ...options,
  };
}

function executor(functions: ManifestFunction[], handlers: HandlerTable, env: Record<string, string> = {}) {
  return makeExecutor(functions, handlers, { settings: runtimeSettingsFromEnv(env) });
}

function task(functionName: string, payload: unknown, extra: Partial<TaskRequest> = {}): TaskRequest {
  return {
    runId: `run-${Math.random()}`,
    functionName,
    payload,
    payloadBytes: JSON.stringify(payload).length,
    ...extra,
  };
}

async function collect(exec: Executor, request: TaskRequest) {
  const events: RunEvent[] = [];
  const result = await exec.run(request, (event) => events.push(event));
  return { result, events, types: events.map((e) => e.type) };
}

describe("executor", () => {
  it("answers to a handler's export name as well as its function and endpoint names", async () => {
    const caption = async (_ctx: ActionContext, input: { text?: string }) => ({ text: `seen ${input.text}` });
    const exec = executor([fn("caption", "single", { export: "describeImage" })], { describeImage: caption });
    for (const name of ["caption", "describeImage"]) {
      const { result } = await collect(exec, task(name, { text: "a cat" }));
      expect(result.success, name).toBe(true);
      expect(result.output).toEqual({ text: "seen a cat" });
    }
  });

  it("keeps a function's own name when another function is exported under it", async () => {
    const one = async () => ({ text: "one" });
    const two = async () => ({ text: "two" });
    // `export { one as two, two as one }`
    const exec = executor([fn("one", "single", { export: "two" }), fn("two", "single", { export: "one" })], {
      two: one,
      one: two,
    });
    expect((await collect(exec, task("one", {}))).result.output).toEqual({ text: "one" });
    expect((await collect(exec, task("two", {}))).result.output).toEqual({ text: "two" });
  });

  it("replaces a delta over WORKER_MAX_OUTPUT_DELTA_BYTES with {truncated: true}", async () => {
    async function* big(_ctx: ActionContext, _input: unknown) {
      yield { text: "small" };
      yield { text: "x".repeat(200) };
    }
    const exec = executor([fn("big", "incremental")], { big }, { WORKER_MAX_OUTPUT_DELTA_BYTES: "100" });
    const { result, events } = await collect(exec, task("big", {}));
    expect(result.success).toBe(true);
    const deltas = events.filter((e) => e.type === "output.delta").map((e) => e.payload);
    expect(deltas).toEqual([{ text: "small" }, { truncated: true }]);
  });

  it("stops a stream after WORKER_MAX_OUTPUT_DELTA_EVENTS and closes the generator", async () => {
    let closed = false;
    async function* forever(_ctx: ActionContext, _input: unknown) {
      try {
        for (let i = 0; ; i++) yield { text: String(i) };
      } finally {
        closed = true;
      }
    }
    const exec = executor(
      [fn("forever", "incremental")],
      { forever },
      { WORKER_MAX_OUTPUT_DELTA_EVENTS: "3" },
    );
    const { result, types } = await collect(exec, task("forever", {}));
    expect(result.success).toBe(true);
    expect(types.filter((t) => t === "output.delta")).toHaveLength(3);
    expect(types).toContain("output.completed");
    await new Promise((done) => setImmediate(done));
    expect(closed).toBe(true);
  });

  it("answers a duplicate run_id instead of ignoring it, and refuses work while draining", async () => {
    let release: () => void = () => {};
    const slow = () => new Promise((done) => (release = () => done({ text: "done" })));
    const exec = executor([fn("slow", "single")], { slow });
    const first = exec.run(task("slow", {}, { runId: "same" }));
    const duplicate = await exec.run(task("slow", {}, { runId: "same" }));
    expect(duplicate).toMatchObject({ success: false, rejected: "duplicate", errorType: "validation" });
    const drained = exec.drain(5_000);
    const refused = await exec.run(task("slow", {}));
    expect(refused).toMatchObject({ rejected: "draining", errorType: "retryable", retryable: true });
    release();
    expect(await first).toMatchObject({ success: true, output: { text: "done" } });
    await drained;
  });

  it("cancels runs still in flight when the drain timeout passes, and delivers their results", async () => {
    const exec = executor([fn("hang", "single")], { hang: () => new Promise(() => {}) });
    const pending = exec.run(task("hang", {}));
    await exec.drain(50);
    expect(await pending).toMatchObject({
      success: false,
      errorType: "canceled",
      safeMessage: "canceled",
      errorMessage: "CanceledError: worker shutting down",
    });
  });

  it("refuses reserved event types from handlers", async () => {
    const exec = executor([fn("sneaky", "single")], {
      sneaky: async (ctx: ActionContext) => {
        ctx.emit("output.delta", { text: "fake" });
        return { text: "never" };
      },
    });
    const { result } = await collect(exec, task("sneaky", {}));
    expect(result.success).toBe(false);
    expect(result.errorMessage).toContain('event type "output.delta" is reserved');
  });

  it("refuses a progress value that is not a number, failing only that run, and clamps the rest to [0, 1]", async () => {
    const exec = executor([fn("nan", "single"), fn("steps", "single")], {
      nan: async (ctx: ActionContext) => {
        ctx.progress(Number.NaN);
        return { text: "never" };
      },
      steps: async (ctx: ActionContext) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        ctx.progress(-1);
        ctx.progress(2, "done");
        return { text: "ok" };
      },
    });
    const [nan, steps] = await Promise.all([
      collect(exec, task("nan", {})),
      collect(exec, task("steps", {})),
    ]);
    expect(nan.result.success).toBe(false);
    expect(nan.result.errorMessage).toContain("ctx.progress needs a finite number, got NaN");
    expect(steps.result.success).toBe(true);
    const progress = steps.events.filter((e) => e.type === "job.progress").map((e) => e.payload);
    expect(progress).toMatchObject([{ progress: 0 }, { progress: 1, stage: "done" }]);
  });

  it("adds the Python SDK's payload hints to metrics.run: steps, width, height, guidance and iters_per_s", async () => {
    // Discovery's shape: the payload type under $defs, the root a $ref to it.
    const generation = {
      $schema: DRAFT,
      $ref: "#/$defs/Gen",
      $defs: {
        Gen: objectSchema(
          {
            num_inference_steps: { type: "number" },
            steps: { type: "number" },
            guidance_scale: { type: "number" },
            guidance: {},
            width: { type: "number" },
            height: { type: "number" },
            fail: { type: "boolean" },
          },
          [],
        ),
      },
    };
    const handler = async (_ctx: ActionContext, input: { fail?: boolean }) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (input.fail) throw new Error("boom");
      return { text: "ok" };
    };
    const exec = executor([fn("generate", "single", { input_schema: generation }), fn("plain", "single")], {
      generate: handler,
      plain: handler,
    });
    const metricsOf = async (name: string, payload: unknown) => {
      const { events } = await collect(exec, task(name, payload));
      const run = events.find((e) => e.type === "metrics.run");
      if (run?.type !== "metrics.run") throw new Error("no metrics.run event");
      return run.payload;
    };

    const run = await metricsOf("generate", {
      num_inference_steps: 20,
      steps: 99,
      guidance_scale: 7.5,
      width: 512.9,
      height: 768,
    });
    expect(run).toMatchObject({ steps: 20, guidance: 7.5, width: 512, height: 768 });
    expect(run.inference_ms).toBeGreaterThan(0);
    expect(run.iters_per_s).toBeCloseTo(20 / ((run.inference_ms ?? 0) / 1000), 9);
    expect(Object.keys(run)).toEqual([
      "schema_version",
      "function_name",
      "inference_ms",
      "steps",
      "iters_per_s",
      "width",
      "height",
      "guidance",
      "peak_ram_bytes",
    ]);

    // A 0 in the first field of a pair falls through to the second (Python's `a or b`); booleans and
    // strings are not numbers; a width of 0 is still a width.
    const fallback = await metricsOf("generate", {
      num_inference_steps: 0,
      steps: 4.7,
      guidance_scale: 0,
      guidance: true,
      width: 0,
    });
    expect(fallback).toMatchObject({ steps: 4, width: 0 });
    expect(fallback).not.toHaveProperty("guidance");
    expect(fallback).not.toHaveProperty("height");

    // A failed run keeps the hints but has no inference time, so no iters_per_s.
    const failed = await metricsOf("generate", { steps: 8, fail: true });
    expect(failed).toMatchObject({ steps: 8 });
    expect(failed).not.toHaveProperty("inference_ms");
    expect(failed).not.toHaveProperty("iters_per_s");

    // Fields the payload type does not declare are not read: the client cannot write the metrics.
    const undeclared = await metricsOf("plain", { text: "x", steps: 30, width: 512, guidance: 7 });
    for (const key of ["steps", "iters_per_s", "width", "height", "guidance"]) {
      expect(undeclared).not.toHaveProperty(key);
    }
  });

  it("reports no models for a run that injects none, whatever required_variant_refs names: no metrics.fetch, no models, no cache_state", async () => {
    const exec = executor([fn("plain", "single")], { plain: async () => ({ text: "ok" }) });
    const { result, events, types } = await collect(
      exec,
      task("plain", { text: "x" }, { requiredModels: ["hf:acme/det", "cozy:acme/sd@sha256:abcd"] }),
    );
    expect(result.success).toBe(true);
    expect(types).toEqual([
      "metrics.compute.started",
      "metrics.compute.completed",
      "metrics.inference",
      "metrics.run",
    ]);
    const run = events.at(-1)?.payload as Record<string, unknown>;
    expect(run).not.toHaveProperty("models");
    expect(run).not.toHaveProperty("cache_state");
  });

  it("refuses to start when the manifest names an export the module lacks", () => {
    expect(() => executor([fn("missing", "single")], {})).toThrow(/no such function/);
  });
});
