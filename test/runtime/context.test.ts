/**
 * RunContext's checks of what handlers report, which the Python SDK (gen-worker 0.2.1) did not make:
 * it sent any progress value, any log level and any event name (docs/differences.md).
 */
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/contract/events.js";
import type { ActionContext } from "../../src/contract/handler-api.js";
import type { Manifest, ManifestFunction } from "../../src/contract/manifest.js";
import { Cancellation } from "../../src/runtime/cancellation.js";
import { RunContext } from "../../src/runtime/context.js";
import { Executor } from "../../src/runtime/executor.js";
import { runtimeSettingsFromEnv } from "../../src/settings/runtime.js";

const DRAFT = "https://json-schema.org/draft/2020-12/schema";

function context(): { ctx: RunContext; events: RunEvent[] } {
  const events: RunEvent[] = [];
  const ctx = new RunContext({
    runId: "r1",
    owner: "",
    userId: "",
    cancellation: new Cancellation(),
    deadline: null,
    requiredModels: [],
    send: (event) => events.push(event),
    outputs: () => undefined,
    maxOutputFileBytes: 0,
  });
  return { ctx, events };
}

function fn(name: string): ManifestFunction {
  const schema = { $schema: DRAFT, type: "object", properties: {}, required: [] };
  return {
    name,
    endpoint_name: name,
    module: "src/main.ts",
    resources: {},
    payload_type: { module: "src/main.ts", qualname: "Input" },
    payload_schema_sha256: "",
    input_schema: schema,
    output_mode: "single",
    output_type: { module: "src/main.ts", qualname: "Output" },
    output_schema_sha256: "",
    output_schema: schema,
    incremental_output: false,
    injection_json: [],
    required_models: [],
    payload_repo_selectors: [],
    export: name,
  };
}

describe("RunContext", () => {
  it("clamps progress to 0…1 and throws on NaN and infinities (the Python SDK sent any value)", () => {
    const { ctx, events } = context();
    ctx.progress(-0.5);
    ctx.progress(0.25, "quarter");
    ctx.progress(7);
    expect(events.map((e) => e.payload)).toMatchObject([
      { progress: 0 },
      { progress: 0.25, stage: "quarter" },
      { progress: 1 },
    ]);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => ctx.progress(bad)).toThrow(TypeError);
    }
    expect(events).toHaveLength(3);
  });

  it("throws on a log level other than debug, info, warning or error (the Python SDK sent any level)", () => {
    const { ctx, events } = context();
    for (const level of ["debug", "info", "warning", "error"] as const) ctx.log("m", level);
    expect(events.map((e) => (e.payload as { level: string }).level)).toEqual([
      "debug",
      "info",
      "warning",
      "error",
    ]);
    for (const level of ["critical", "warn", "INFO", ""]) {
      expect(() => ctx.log("m", level as never)).toThrow(
        /ctx\.log level must be one of debug, info, warning, error/,
      );
    }
    expect(events).toHaveLength(4);
  });

  it("throws on event names under the runtime's prefixes (the Python SDK sent any name)", () => {
    const { ctx, events } = context();
    for (const name of [
      "output.delta",
      "metrics.run",
      "model.ready",
      "models.disk_inventory",
      "job.progress",
    ]) {
      expect(() => ctx.emit(name, {})).toThrow(`event type "${name}" is reserved for the runtime`);
    }
    ctx.emit("custom.thing", { k: 1 });
    ctx.emit("jobs.started", {});
    expect(events.map((e) => (e.type === "custom" ? e.name : e.type))).toEqual([
      "custom.thing",
      "jobs.started",
    ]);
  });

  it("fails the run as internal when a handler misuses progress, log or emit", async () => {
    const misuses: Record<string, (ctx: ActionContext) => void> = {
      nan_progress: (ctx) => ctx.progress(Number.NaN),
      bad_level: (ctx) => ctx.log("m", "critical" as never),
      reserved_event: (ctx) => ctx.emit("job.progress", { progress: 2 }),
    };
    const manifest: Manifest = {
      project_name: "test",
      functions: Object.keys(misuses).map(fn),
      runtime: { language: "typescript", node: ">=20.19.0", gen_worker: "0.1.0", main: "src/main.ts" },
    };
    const handlers = Object.fromEntries(
      Object.entries(misuses).map(([name, misuse]) => [
        name,
        async (ctx: ActionContext) => {
          misuse(ctx);
          return {};
        },
      ]),
    );
    const exec = new Executor({ manifest, handlers, settings: runtimeSettingsFromEnv({}) });
    for (const name of Object.keys(misuses)) {
      const result = await exec.run({
        runId: `run-${name}`,
        functionName: name,
        payload: {},
        payloadBytes: 2,
      });
      expect([name, result.success, result.errorType, result.retryable, result.safeMessage]).toEqual([
        name,
        false,
        "internal",
        false,
        "internal error",
      ]);
      expect(result.errorMessage).toMatch(/^TypeError: /);
    }
  });

  it("gives the deadline in epoch milliseconds and the time left in milliseconds (the Python SDK: seconds)", async () => {
    let seen: { deadline: number | null; remaining: number | null } | undefined;
    const manifest: Manifest = {
      project_name: "test",
      functions: [fn("clock")],
      runtime: { language: "typescript", node: ">=20.19.0", gen_worker: "0.1.0", main: "src/main.ts" },
    };
    const exec = new Executor({
      manifest,
      handlers: {
        clock: async (ctx: ActionContext) => {
          seen = { deadline: ctx.deadline, remaining: ctx.timeRemainingMs() };
          return {};
        },
      },
      settings: runtimeSettingsFromEnv({}),
    });
    const before = Date.now();
    await exec.run({
      runId: "clock",
      functionName: "clock",
      payload: {},
      payloadBytes: 2,
      timeoutMs: 60_000,
    });
    expect(seen?.deadline).toBeGreaterThanOrEqual(before + 60_000);
    expect(seen?.deadline).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(seen?.remaining).toBeGreaterThan(59_000);
    expect(seen?.remaining).toBeLessThanOrEqual(60_000);
  });
});

describe("ctx.emit", () => {
  it("keeps the handler's own timestamp and adds one only when it is missing", () => {
    const { ctx, events } = context();
    ctx.emit("custom.thing", { k: 1, timestamp: 42 });
    ctx.emit("custom.other", { k: 2 });
    const [own, added] = events.map((event) => event.payload as Record<string, unknown>);
    expect(own).toEqual({ k: 1, timestamp: 42 });
    expect(typeof added?.timestamp).toBe("number");
    expect(added?.timestamp).not.toBe(42);
  });
});
