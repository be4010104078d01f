/**
 * `diffSchemas` on the schema shapes the manifest corpus (test/diff-fixtures/) does not spell
 * out: equivalent spellings, boolean schemas, refs with siblings, keywords it cannot judge.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { JsonSchema } from "../../src/contract/json-schema.js";
import type { Manifest } from "../../src/contract/manifest.js";
import { diffManifests } from "../../src/discovery/manifest-diff.js";
import { diffSchemas } from "../../src/discovery/schema-diff.js";

const DISCOVERY_FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

/** `kind direction path: detail` per change, short enough to read in a failure. */
function changes(before: JsonSchema, after: JsonSchema): string[] {
  return diffSchemas(before, after).map(
    (change) => `${change.kind} ${change.direction} ${change.path}: ${change.detail}`,
  );
}

describe("diffSchemas", () => {
  it("finds no change between spellings of the same values", () => {
    const nullable = { anyOf: [{ type: "string" }, { type: "null" }] };
    expect(changes(nullable, { type: ["string", "null"] })).toEqual([]);
    expect(changes({ const: "a" }, { enum: ["a"] })).toEqual([]);
    expect(changes({ enum: ["b", "a"] }, { enum: ["a", "b"] })).toEqual([]);
    expect(changes({ anyOf: [{ type: "null" }, { type: "string" }] }, nullable)).toEqual([]);
    expect(
      changes({ type: "number", minimum: 1, exclusiveMinimum: 0 }, { type: "number", minimum: 1 }),
    ).toEqual([]);
  });

  it("follows refs on each side, siblings included, and stops where a type recurses", () => {
    const before = {
      $ref: "#/$defs/A",
      $defs: { A: { type: "object", properties: { next: { $ref: "#/$defs/A", description: "x" } } } },
    };
    const after = {
      $ref: "#/$defs/B",
      $defs: { B: { type: "object", properties: { next: { $ref: "#/$defs/B", description: "y" } } } },
    };
    expect(changes(before, after)).toEqual(["description-changed neutral next: description changed"]);
  });

  it("reads true as any value and false as none", () => {
    expect(changes({ type: "array", items: true }, { type: "array", items: false })).toEqual([
      "type-narrowed narrower []: no longer accepts any value",
    ]);
    expect(changes({ type: "array", items: false }, { type: "array", items: { type: "string" } })).toEqual([
      "type-widened wider []: now also accepts string",
    ]);
    expect(changes({}, { type: "string" })).toEqual(["type-narrowed narrower : any value → string"]);
  });

  it("calls a field removed from a closed object a change both ways", () => {
    const before = { type: "object", properties: { a: { type: "string" } }, additionalProperties: false };
    expect(changes(before, { type: "object", properties: {}, additionalProperties: false })).toEqual([
      "field-removed changed a: removed",
    ]);
  });

  it("calls a keyword it cannot judge a change both ways", () => {
    expect(changes({ type: "string", allOf: [{ minLength: 1 }] }, { type: "string", allOf: [] })).toEqual([
      "type-changed changed : allOf changed (gen-worker cannot tell whether it accepts more or less)",
    ]);
  });

  it("calls a range that moves both ways a change, and a coarser multipleOf wider", () => {
    expect(
      changes({ type: "integer", minimum: 0, maximum: 5 }, { type: "integer", minimum: 1, maximum: 9 }),
    ).toEqual(["type-changed changed : value [0, 5] → [1, 9]"]);
    expect(changes({ type: "number", multipleOf: 4 }, { type: "number", multipleOf: 2 })).toEqual([
      "type-widened wider : multipleOf 4 → 2",
    ]);
    expect(changes({ type: "array", items: {} }, { type: "array", items: {}, uniqueItems: true })).toEqual([
      "type-narrowed narrower : items must now be unique",
    ]);
  });
});

describe("diffManifests on discovery's own manifests", () => {
  const manifests = readdirSync(DISCOVERY_FIXTURES)
    .map((name) => join(DISCOVERY_FIXTURES, name, "expected.json"))
    .filter((file) => {
      try {
        readFileSync(file);
        return true;
      } catch {
        return false;
      }
    });

  it.each(manifests)("finds nothing between %s and itself", (file) => {
    const manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
    expect(diffManifests(manifest, structuredClone(manifest))).toEqual({
      breaking: false,
      counts: { breaking: 0, compatible: 0 },
      endpoints: [],
    });
  });
});
