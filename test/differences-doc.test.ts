/**
 * docs/differences.md names, for every deliberate difference from the Python SDK, the test that pins
 * it (`test/<file>` — "describe › test name"). Each named file must exist and hold each part of each
 * name, either as written or as the template of a parameterised test (`it.each(...)("refuses %j")`),
 * so that a renamed or deleted test cannot leave the page pointing at nothing.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./support/runner-process.js";

const PAGE = readFileSync(join(REPO_ROOT, "docs/differences.md"), "utf8");
const CITATION = /`(test\/[^`]+?\.(?:ts|mjs))` — ((?:(?:"[^"]*"|`[^`]*`)(?:, and |, | and )?)+)/g;
const QUOTED = /"([^"]*)"|`([^`]*)`/g;
/** fixtures.test.ts names each case after its folder under test/fixtures (`it.each(fixtureNames)("%s")`). */
const FIXTURE_NAMES = new Set(readdirSync(join(REPO_ROOT, "test/fixtures")));

interface Citation {
  file: string;
  name: string;
}

function citations(): Citation[] {
  const found: Citation[] = [];
  for (const [, file, names] of PAGE.matchAll(CITATION)) {
    for (const [, double, back] of (names as string).matchAll(QUOTED)) {
      found.push({ file: file as string, name: (double ?? back) as string });
    }
  }
  return found;
}

/** The string literals of a test file that hold a placeholder, as regular expressions of what they name. */
function templates(source: string): RegExp[] {
  const literals = source.match(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g) ?? [];
  const placeholder = /%[sdijfoO#]|\$\{[^}]+\}|\$[A-Za-z_][\w.]*/g;
  return literals
    .map((literal) => literal.slice(1, -1))
    .filter((text) => placeholder.test(text) && text.replace(placeholder, "").trim() !== "")
    .map((text) => {
      const parts = text.split(placeholder).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
      return new RegExp(`^${parts.join(".+")}$`);
    });
}

function holds(file: string, source: string, part: string): boolean {
  if (source.includes(part)) return true;
  if (file === "test/discovery/fixtures.test.ts" && FIXTURE_NAMES.has(part)) return true;
  return templates(source).some((template) => template.test(part));
}

describe("docs/differences.md", () => {
  const cited = citations();

  it("names at least 100 tests", () => {
    expect(cited.length).toBeGreaterThanOrEqual(100);
  });

  it("names only tests that exist", () => {
    const missing: string[] = [];
    for (const { file, name } of cited) {
      const path = join(REPO_ROOT, file);
      if (!existsSync(path)) {
        missing.push(`${file} (no such file)`);
        continue;
      }
      const source = readFileSync(path, "utf8");
      for (const part of name.split(" › ")) {
        if (!holds(file, source, part)) missing.push(`${file} — "${part}"`);
      }
    }
    expect(missing).toEqual([]);
  });
});
