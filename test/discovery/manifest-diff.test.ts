/**
 * The diff corpus that pins what `cozy-worker diff` calls breaking: one folder per rule under
 * test/diff-fixtures/<name>/, holding `old.json` and `new.json` (manifests, reduced to the keys
 * the diff reads) and `expected.json`, the report `diffManifests` must produce (what `diff --json`
 * prints, less `old` and `new`). A folder's name starts with `breaking-` or `compatible-`, and
 * the report must agree.
 *
 * `UPDATE_FIXTURES=1 npx vitest run test/discovery/manifest-diff.test.ts` rewrites every
 * expected.json from what the diff says now (then `npx biome format --write test/diff-fixtures`).
 * Read the changes line by line before committing them: the expectations are the spec.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Manifest } from "../../src/contract/manifest.js";
import { type ChangeKind, diffManifests, type ManifestDiff } from "../../src/discovery/manifest-diff.js";

const FIXTURES = fileURLToPath(new URL("../diff-fixtures/", import.meta.url));
const UPDATE = process.env.UPDATE_FIXTURES === "1";

const fixtureNames = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

function read(name: string, file: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, name, file), "utf8"));
}

function diffOf(name: string, reverse = false): ManifestDiff {
  const [before, after] = [read(name, "old.json"), read(name, "new.json")] as Manifest[];
  return reverse
    ? diffManifests(after as Manifest, before as Manifest)
    : diffManifests(before as Manifest, after as Manifest);
}

describe("the diff corpus", () => {
  it("has at least 20 pairs, each named breaking- or compatible-", () => {
    expect(fixtureNames.length).toBeGreaterThanOrEqual(20);
    for (const name of fixtureNames) expect(name).toMatch(/^(breaking|compatible)-/);
  });

  it.each(fixtureNames)("%s", (name) => {
    const diff = diffOf(name);
    if (UPDATE) writeFileSync(join(FIXTURES, name, "expected.json"), `${JSON.stringify(diff, null, 2)}\n`);
    expect(diff).toEqual(read(name, "expected.json"));
    expect(diff.breaking).toBe(name.startsWith("breaking-"));
  });

  it("covers every kind of change, breaking and compatible as the rules say", () => {
    const seen = new Map<string, Set<boolean>>();
    for (const name of fixtureNames)
      for (const endpoint of diffOf(name).endpoints)
        for (const change of endpoint.changes)
          seen.set(change.kind, (seen.get(change.kind) ?? new Set()).add(change.breaking));
    const both = [true, false];
    const expected: Record<ChangeKind, boolean[]> = {
      "endpoint-removed": [true],
      "endpoint-added": [false],
      "output-mode-changed": [true],
      "model-removed": [true],
      "model-added": [false],
      "model-changed": [false],
      "field-added": both,
      "field-removed": both,
      "field-required": both,
      "field-optional": both,
      "type-narrowed": both,
      "type-widened": both,
      "type-changed": [true],
      "enum-reduced": both,
      "enum-extended": both,
      "description-changed": [false],
      "default-changed": [false],
    };
    for (const [kind, breaking] of Object.entries(expected))
      expect([...(seen.get(kind) ?? [])].sort(), kind).toEqual([...breaking].sort());
  });

  it("swaps narrowing and widening when a pair is read backwards", () => {
    const opposite: Partial<Record<ChangeKind, ChangeKind>> = {
      "type-narrowed": "type-widened",
      "type-widened": "type-narrowed",
      "enum-reduced": "enum-extended",
      "enum-extended": "enum-reduced",
      "field-required": "field-optional",
      "field-optional": "field-required",
      "type-changed": "type-changed",
    };
    for (const name of fixtureNames) {
      const backwards = diffOf(name, true).endpoints.flatMap((endpoint) =>
        endpoint.changes.map((change) => `${endpoint.endpoint} ${change.side} ${change.path} ${change.kind}`),
      );
      for (const endpoint of diffOf(name).endpoints) {
        for (const change of endpoint.changes) {
          const kind = opposite[change.kind];
          if (kind === undefined) continue;
          expect(backwards, name).toContain(`${endpoint.endpoint} ${change.side} ${change.path} ${kind}`);
        }
      }
    }
  });
});
