/**
 * The fuzzer's values respect the schemas they come from: for every input and output schema of
 * the discovery fixtures (bounds, lengths, patterns, formats, enums, tuples, records, recursive
 * types, nullable fields, Assets), every generated value passes the runtime's own validator.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Manifest } from "../../src/contract/manifest.js";
import { schemaArbitrary, UnsupportedSchemaError } from "../../src/testing/schema-arbitrary.js";
import { createAjv } from "../../src/util/ajv.js";
import { REPO_ROOT } from "./testing-module.js";

const SAMPLES = 150;
const fixturesDir = join(REPO_ROOT, "test/fixtures");

const schemas = readdirSync(fixturesDir)
  .filter((name) => existsSync(join(fixturesDir, name, "expected.json")))
  .sort()
  .flatMap((name) => {
    const manifest = JSON.parse(readFileSync(join(fixturesDir, name, "expected.json"), "utf8")) as Manifest;
    return manifest.functions.flatMap((fn) => [
      { label: `${name} ${fn.name} input`, schema: fn.input_schema },
      { label: `${name} ${fn.name} output`, schema: fn.output_schema },
    ]);
  });

const asset = fc.constantFrom("a.wav", "dir/b.png").map((ref) => ({ ref }));

describe("every generated value passes the schema's validator", () => {
  it("covers the fixtures", () => {
    expect(schemas.length).toBeGreaterThan(50);
  });

  it.each(schemas)("$label", ({ schema }) => {
    const validate = createAjv().compile(schema);
    const values = fc.sample(schemaArbitrary(schema, { asset }), { numRuns: SAMPLES, seed: 1 });
    const rejected = values.filter((value) => !validate(value));
    expect(rejected.slice(0, 3)).toEqual([]);
  });
});

describe("constraints", () => {
  const sample = (schema: Record<string, unknown>, runs = 300) =>
    fc.sample(schemaArbitrary(schema, { asset }), { numRuns: runs, seed: 7 });

  it("leaves optional properties out, sometimes, and never a required one", () => {
    const values = sample({
      type: "object",
      properties: { need: { type: "string" }, maybe: { type: "integer", default: 3 } },
      required: ["need"],
    }) as Record<string, unknown>[];
    expect(values.every((value) => "need" in value)).toBe(true);
    expect(values.some((value) => !("maybe" in value))).toBe(true);
    expect(values.some((value) => "maybe" in value)).toBe(true);
  });

  it("reaches the bounds: empty strings, the longest ones, the extreme numbers", () => {
    const strings = sample({ type: "string", maxLength: 40 }) as string[];
    expect(strings).toContain("");
    expect(strings.some((text) => [...text].length === 40)).toBe(true);
    const numbers = sample({ type: "integer", minimum: -5, maximum: 5 }) as number[];
    expect(numbers).toContain(-5);
    expect(numbers).toContain(5);
  });

  it("puts the given values at Asset fields and model key fields", () => {
    const schema = {
      $ref: "#/$defs/In",
      $defs: {
        In: {
          type: "object",
          properties: { file: { $ref: "#/$defs/Asset" }, model: { type: "string" } },
          required: ["file", "model"],
        },
        Asset: { type: "object", properties: { ref: { type: "string" } }, required: ["ref"] },
      },
    };
    const values = fc.sample(
      schemaArbitrary(schema, { asset, rootProperties: { model: fc.constant("small") } }),
      { numRuns: 50, seed: 3 },
    ) as { file: { ref: string }; model: string }[];
    expect(values.every((value) => ["a.wav", "dir/b.png"].includes(value.file.ref))).toBe(true);
    expect(values.every((value) => value.model === "small")).toBe(true);
  });

  it("ends recursive types, and refuses one that has no finite value", () => {
    const tree = {
      $ref: "#/$defs/Tree",
      $defs: {
        Tree: {
          type: "object",
          properties: { children: { type: "array", items: { $ref: "#/$defs/Tree" } } },
          required: ["children"],
        },
      },
    };
    expect(sample(tree, 100)).toHaveLength(100);
    const endless = {
      $ref: "#/$defs/Loop",
      $defs: { Loop: { type: "object", properties: { next: { $ref: "#/$defs/Loop" } }, required: ["next"] } },
    };
    expect(() => schemaArbitrary(endless, { asset })).toThrow(UnsupportedSchemaError);
  });
});
