/**
 * Payloads and tasks built to hurt the worker: each must end as a plain `validation` failure that
 * names the rule, fast, instead of stalling the event loop, overflowing the stack or failing as
 * `internal`.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ActionContext } from "../../src/contract/handler-api.js";
import type { RunResult } from "../../src/contract/task.js";
import { MAX_PAYLOAD_DEPTH } from "../../src/runtime/payload-shape.js";
import { makeTempDir } from "./files/servers.js";
import { fn, makeExecutor, objectSchema, task } from "./manifest-fixture.js";

const ints = fn("ints", objectSchema({ items: { type: "array", items: { type: "integer" } } }));
const anything = fn("anything", objectSchema({ data: {} }, []));
const noop = async () => ({});

/** A value nested `depth` arrays deep, as JSON.parse builds it (so no stack is used to build it). */
function nestedArrays(depth: number): unknown {
  return JSON.parse(`${"[".repeat(depth)}${"]".repeat(depth)}`);
}

function expectValidation(result: RunResult, message: string | RegExp): void {
  expect(result).toMatchObject({ success: false, errorType: "validation", retryable: false });
  if (typeof message === "string") expect(result.safeMessage).toBe(message);
  else expect(result.safeMessage).toMatch(message);
}

describe("hostile payloads", () => {
  it("refuses four million nils for an Integer[] by the value limit, before any schema work", async () => {
    const exec = makeExecutor([ints], { ints: noop });
    const payload = { items: new Array(4_000_000).fill(null) };
    const cpu = process.cpuUsage();
    const result = await exec.run(task("ints", payload));
    const { user, system } = process.cpuUsage(cpu);
    console.log(`4,000,000 nils: refused in ${((user + system) / 1000).toFixed(1)} ms of CPU`);
    expectValidation(
      result,
      "invalid input: the payload holds more than 1,000,000 values (the limit counts every array item and object property): send bulk data as a file (Asset) or as bytes",
    );
  });

  it("reports the first wrong item of a long array, naming its path, not one error per item", async () => {
    const exec = makeExecutor([ints], { ints: noop });
    const items: unknown[] = new Array(500_000).fill(null);
    items.fill(1, 0, 3);
    const cpu = process.cpuUsage();
    const result = await exec.run(task("ints", { items }));
    const { user, system } = process.cpuUsage(cpu);
    console.log(
      `500,000 items, wrong from $.items[3]: refused in ${((user + system) / 1000).toFixed(1)} ms of CPU`,
    );
    expectValidation(result, "invalid input: $.items[3] must be integer");
  });

  it("refuses a payload nested 100,000 deep as validation, naming the depth limit and where", async () => {
    const exec = makeExecutor([anything], { anything: noop });
    const result = await exec.run(task("anything", { data: nestedArrays(100_000) }));
    expectValidation(
      result,
      /^invalid input: the payload nests arrays and objects deeper than 64 levels \(the limit\), at \$\.data\[0\]\[0\]/,
    );
  });

  it("accepts a payload exactly at the depth limit", async () => {
    const exec = makeExecutor([anything], { anything: noop });
    // The root object is level 1, `data` holds the other 63.
    const result = await exec.run(task("anything", { data: nestedArrays(MAX_PAYLOAD_DEPTH - 1) }));
    expect(result.success).toBe(true);
    const over = await exec.run(task("anything", { data: nestedArrays(MAX_PAYLOAD_DEPTH) }));
    expectValidation(over, /deeper than 64 levels/);
  });
});

describe("hostile run ids", () => {
  it("refuses an empty run_id every time, without running the handler", async () => {
    let calls = 0;
    const exec = makeExecutor([anything], {
      anything: async () => {
        calls++;
        return {};
      },
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await exec.run(task("anything", {}, { runId: "" }));
      expectValidation(result, "invalid run id: run_id must not be empty: give every run its own id");
    }
    expect(calls).toBe(0);
  });

  it("refuses a 300-character run_id by the 200-byte limit instead of failing on the file system", async () => {
    const outputs = await makeTempDir();
    try {
      const save = fn("save", objectSchema({}, []));
      const exec = makeExecutor(
        [save],
        { save: async (ctx: ActionContext) => ({ file: await ctx.saveBytes("a.txt", new Uint8Array([1])) }) },
        { outputsDir: outputs.path },
      );
      const result = await exec.run(task("save", {}, { runId: "r".repeat(300) }));
      expectValidation(
        result,
        /^invalid run id: run_id "r{60}…" is 300 bytes long; at most 200 bytes \(UTF-8\) are allowed: use a shorter id$/,
      );
      const longest = await exec.run(task("save", {}, { runId: "r".repeat(200) }));
      expect(longest.success).toBe(true);
    } finally {
      await outputs.remove();
    }
  });

  it("refuses a run_id that is not one path segment", async () => {
    const exec = makeExecutor([anything], { anything: noop });
    for (const runId of ["..", "a/b", "a\\b"]) {
      expectValidation(await exec.run(task("anything", {}, { runId })), /must be one path segment/);
    }
  });
});

describe("hostile output names", () => {
  let outputs: Awaited<ReturnType<typeof makeTempDir>>;

  beforeEach(async () => {
    outputs = await makeTempDir();
  });

  afterEach(async () => {
    await outputs.remove();
  });

  it("refuses a 256-byte output name as validation naming the 255-byte limit", async () => {
    const save = fn("save", objectSchema({ name: { type: "string" } }));
    const exec = makeExecutor(
      [save],
      {
        save: async (ctx: ActionContext, input: { name: string }) => ({
          file: await ctx.saveBytes(input.name, new Uint8Array([1])),
        }),
      },
      { outputsDir: outputs.path },
    );
    const result = await exec.run(task("save", { name: "n".repeat(256) }));
    expectValidation(
      result,
      /^invalid output ref "n{60}…": the name "n{60}…" is 256 bytes; each folder or file name may have at most 255 bytes \(UTF-8\): use a shorter name$/,
    );
    expect((await exec.run(task("save", { name: "n".repeat(255) }))).success).toBe(true);
  });
});

describe("hostile timeouts", () => {
  const wait = fn("wait", objectSchema({ ms: { type: "integer" } }));
  const handlers = {
    wait: async (ctx: ActionContext, input: { ms: number }) => {
      await new Promise((done) => setTimeout(done, input.ms));
      ctx.throwIfCanceled();
      return {};
    },
  };

  it.each([2 ** 31, 2 ** 31 + 1, 2 ** 53, 1e308, Number.POSITIVE_INFINITY])(
    "a timeout_ms of %d does not cancel the run early",
    async (timeoutMs) => {
      const exec = makeExecutor([wait], handlers);
      const result = await exec.run(task("wait", { ms: 30 }, { timeoutMs }));
      expect(result).toMatchObject({ success: true, timedOut: false });
    },
  );

  it("a short timeout still cancels", async () => {
    const exec = makeExecutor([wait], handlers);
    const result = await exec.run(task("wait", { ms: 2_000 }, { timeoutMs: 20 }));
    expect(result).toMatchObject({ success: false, errorType: "canceled", timedOut: true });
  });
});

describe("payload fields named like Object.prototype members", () => {
  const proto = fn(
    "proto",
    objectSchema(
      {
        text: { type: "string" },
        constructor: { type: "string" },
        toString: { type: "boolean" },
        valueOf: { type: "integer", default: 7 },
        hasOwnProperty: { type: "object", properties: { toString: { type: "string", default: "x" } } },
      },
      ["text"],
    ),
  );
  const exec = () =>
    makeExecutor([proto], {
      proto: async (_ctx: ActionContext, input: Record<string, unknown>) => ({ seen: input }),
    });

  it("accepts a payload that leaves them out, and fills in their defaults", async () => {
    const result = await exec().run(task("proto", { text: "hi" }));
    expect(result).toMatchObject({ success: true, errorMessage: "" });
    expect(result.output).toEqual({ seen: { text: "hi", valueOf: 7 } });
  });

  it("validates them when given, with defaults inside nested objects too", async () => {
    const given = await exec().run(
      task("proto", { text: "hi", constructor: "c", toString: true, valueOf: 1, hasOwnProperty: {} }),
    );
    expect(given.output).toEqual({
      seen: { text: "hi", constructor: "c", toString: true, valueOf: 1, hasOwnProperty: { toString: "x" } },
    });
    const wrong = await exec().run(task("proto", { text: "hi", constructor: 5 }));
    expectValidation(wrong, "invalid input: $.constructor must be string");
  });
});
