/**
 * The fixture corpus that pins discovery's behaviour: one small tenant project per rule under
 * test/fixtures/<name>/, each holding exactly one of
 *
 * - `expected.json`: the manifest `discover` must produce (as `cozy-worker discover` prints it),
 *   plus `expected-warnings.txt` when the project is valid but warns (one warning per line);
 * - `expected-error.txt`: the problems `discover` must throw, one `file:line:col: message` per line.
 *
 * Paths are relative to the fixture folder. Inside messages, the fixture folder itself is written
 * `<fixture>` and paths under it relative to it, so the expectations do not depend on where the
 * repository lives or on the working directory.
 *
 * `UPDATE_FIXTURES=1 npx vitest run test/fixtures.test.ts` rewrites every expected file from what
 * discovery produces now. Use it only for a change you have reviewed: read the diff of the
 * expected files line by line before committing it, because the expectations are the spec.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatProblem, type Problem } from "../../src/contract/problems.js";
import { discover } from "../../src/discovery/discover.js";
import { DiscoveryError } from "../../src/discovery/problems.js";
import { prettyJson } from "../../src/util/canonical-json.js";
import { REFERENCE_FUNCTION_KEYS } from "../support/reference-manifest.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const UPDATE = process.env.UPDATE_FIXTURES === "1";

const fixtureNames = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

type Outcome =
  | { kind: "manifest"; manifest: unknown; warnings: string[] }
  | { kind: "error"; problems: string[] };

/** A problem as the CLI prints it, with paths made relative to the fixture folder. */
function formatFixtureProblem(problem: Problem, dir: string): string {
  const file = isAbsolute(problem.file) ? relative(dir, problem.file).split(sep).join("/") : problem.file;
  const message = problem.message.replaceAll(`${dir}${sep}`, "").replaceAll(dir, "<fixture>");
  return formatProblem({ ...problem, file, message });
}

async function run(dir: string): Promise<Outcome> {
  try {
    const { manifest, warnings } = await discover(dir);
    return {
      kind: "manifest",
      // Through JSON, exactly as the CLI prints it.
      manifest: JSON.parse(prettyJson(manifest)),
      warnings: warnings.map((warning) => formatFixtureProblem(warning, dir)),
    };
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    return { kind: "error", problems: error.problems.map((problem) => formatFixtureProblem(problem, dir)) };
  }
}

function readLines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "");
}

function writeExpected(dir: string, outcome: Outcome): void {
  for (const name of ["expected.json", "expected-error.txt", "expected-warnings.txt"]) {
    rmSync(join(dir, name), { force: true });
  }
  if (outcome.kind === "error") {
    writeFileSync(join(dir, "expected-error.txt"), `${outcome.problems.join("\n")}\n`);
    return;
  }
  writeFileSync(join(dir, "expected.json"), `${prettyJson(outcome.manifest)}\n`);
  if (outcome.warnings.length > 0) {
    writeFileSync(join(dir, "expected-warnings.txt"), `${outcome.warnings.join("\n")}\n`);
  }
}

describe("discovery fixtures", () => {
  it("has a fixture for every rule (at least 25)", () => {
    expect(fixtureNames.length).toBeGreaterThanOrEqual(25);
  });

  it.each(fixtureNames)("%s", async (name) => {
    const dir = join(FIXTURES, name);
    const manifestFile = join(dir, "expected.json");
    const errorFile = join(dir, "expected-error.txt");
    const warningsFile = join(dir, "expected-warnings.txt");
    const outcome = await run(dir);
    if (UPDATE) {
      writeExpected(dir, outcome);
      return;
    }

    const hasManifest = existsSync(manifestFile);
    const hasError = existsSync(errorFile);
    expect(hasManifest !== hasError, `${name} needs exactly one of expected.json, expected-error.txt`).toBe(
      true,
    );
    if (hasError) {
      expect(existsSync(warningsFile), "expected-warnings.txt goes with expected.json").toBe(false);
      expect(outcome).toEqual({ kind: "error", problems: readLines(errorFile) });
      return;
    }

    expect(outcome.kind, outcome.kind === "error" ? outcome.problems.join("\n") : "").toBe("manifest");
    if (outcome.kind !== "manifest") return;
    expect(outcome.manifest).toStrictEqual(JSON.parse(readFileSync(manifestFile, "utf8")));
    expect(outcome.warnings).toEqual(readLines(warningsFile));

    // The manifest keeps the reference's key order for the keys it shares with it.
    const { functions } = outcome.manifest as { functions: Record<string, unknown>[] };
    for (const fn of functions) {
      const keys = Object.keys(fn).filter((key) => REFERENCE_FUNCTION_KEYS.includes(key));
      expect(keys).toEqual(REFERENCE_FUNCTION_KEYS.filter((key) => key in fn));
    }
  });
});
