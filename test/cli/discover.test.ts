/**
 * `cozy-worker discover` end to end: the built CLI (bin/cozy-worker.js → dist/) on fixtures from
 * test/fixtures/. It runs what dist/ holds, so build after changing src/ (`npm test` builds first).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type CliResult, cli } from "../support/cli.js";
import { REPO_ROOT as ROOT } from "../support/runner-process.js";

const FIXTURES = join(ROOT, "test", "fixtures");

function discoverCli(args: string[], cwd = ROOT): Promise<CliResult> {
  return cli(["discover", ...args], {}, { cwd });
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** A stack trace never reaches the user, whatever went wrong. */
function expectNoStackTrace(result: CliResult): void {
  expect(`${result.stdout}\n${result.stderr}`).not.toMatch(/^\s{4}at /m);
}

beforeAll(() => {
  const built = join(ROOT, "dist", "cli", "main.js");
  if (!existsSync(built)) throw new Error("dist/ is missing: run `npm run build` (npm test does)");
});

describe("cozy-worker discover", () => {
  it("prints the manifest of a valid project on stdout and exits 0", async () => {
    const fixture = join(FIXTURES, "minimal-handler");
    const result = await discoverCli([fixture]);
    expectNoStackTrace(result);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(readFileSync(join(fixture, "expected.json"), "utf8"));
  });

  it("prints each problem as file:line:col on stderr, then a count, and exits 1", async () => {
    const fixture = join(FIXTURES, "function-property");
    const result = await discoverCli(["."], fixture);
    expectNoStackTrace(result);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    const stderr = lines(result.stderr);
    const expected = lines(readFileSync(join(fixture, "expected-error.txt"), "utf8"));
    expect(stderr.at(-1)).toBe(
      `error: discovery failed: ${expected.length} problem${expected.length === 1 ? "" : "s"}`,
    );
    const problems = stderr.slice(0, -1);
    for (const line of problems) expect(line).toMatch(/^error: src\/main\.ts:\d+:\d+: \S/);
    expect(problems.map((line) => line.replace(/^error: /, ""))).toEqual(expected);
  });

  it("reports every problem, in source order, and counts them", async () => {
    const fixture = join(FIXTURES, "several-problems");
    const result = await discoverCli(["."], fixture);
    expectNoStackTrace(result);
    expect(result.code).toBe(1);
    const expected = lines(readFileSync(join(fixture, "expected-error.txt"), "utf8"));
    expect(expected.length).toBeGreaterThan(1);
    expect(lines(result.stderr)).toEqual([
      ...expected.map((problem) => `error: ${problem}`),
      `error: discovery failed: ${expected.length} problems`,
    ]);
  });

  it("names the other handler of an endpoint collision by a path the user can open", async () => {
    const result = await discoverCli(["."], join(FIXTURES, "endpoint-collision"));
    expectNoStackTrace(result);
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([
      "error: src/main.ts:7:23: multiple functions normalize to the same endpoint 'image-worker': image_worker (src/main.ts:3) and image__worker; rename one or set @endpoint on it",
      "error: discovery failed: 1 problem",
    ]);
  });

  it("explains a folder that does not exist and exits 1", async () => {
    const result = await discoverCli(["no-such-project"]);
    expectNoStackTrace(result);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    const stderr = lines(result.stderr);
    expect(stderr).toHaveLength(2);
    expect(stderr[0]).toMatch(/^error: .*project directory .*no-such-project does not exist/);
    expect(stderr[1]).toBe("error: discovery failed: 1 problem");
  });

  it("warns on stderr but still prints the manifest and exits 0 when there are no handlers", async () => {
    const fixture = join(FIXTURES, "no-handlers");
    const result = await discoverCli(["."], fixture);
    expectNoStackTrace(result);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(
      JSON.parse(readFileSync(join(fixture, "expected.json"), "utf8")),
    );
    const warnings = lines(readFileSync(join(fixture, "expected-warnings.txt"), "utf8"));
    expect(lines(result.stderr)).toEqual(warnings.map((warning) => `warning: ${warning}`));
  });
});
