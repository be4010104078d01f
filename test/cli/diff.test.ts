/**
 * `cozy-worker diff` end to end on manifest files and project folders (the image side is in
 * test/image/compat.test.ts): what it prints, its JSON, its exit codes. It runs what dist/
 * holds, so build after changing src/ (`npm test` builds first).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type CliResult, cli } from "../support/cli.js";
import { REPO_ROOT } from "../support/runner-process.js";

const PAIRS = join(REPO_ROOT, "test", "diff-fixtures");
const MINIMAL = join(REPO_ROOT, "test", "fixtures", "minimal-handler");
/** No engine there: a side that is neither a file nor a folder cannot be an image either. */
const NO_ENGINE = { DOCKER_HOST: "unix:///nonexistent.sock" };

const temps: string[] = [];
afterAll(() => Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true }))));

function diff(args: string[]): Promise<CliResult> {
  return cli(["diff", ...args], NO_ENGINE);
}

function pair(name: string): [string, string] {
  return [join(PAIRS, name, "old.json"), join(PAIRS, name, "new.json")];
}

/** A copy of the minimal-handler fixture with its handler file changed. */
async function project(change: (source: string) => string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cozy-diff-"));
  temps.push(dir);
  await cp(MINIMAL, dir, { recursive: true });
  const main = join(dir, "src", "main.ts");
  await writeFile(main, change(await readFile(main, "utf8")));
  return dir;
}

function expectNoStackTrace(result: CliResult): void {
  expect(`${result.stdout}\n${result.stderr}`).not.toMatch(/^\s{4}at /m);
}

describe("cozy-worker diff", () => {
  it("prints breaking changes per endpoint, marked, and exits 1", async () => {
    const [before, after] = pair("breaking-endpoint-renamed");
    const result = await diff([before, after]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(
      [
        "endpoint greet: 1 breaking",
        '  BREAKING    endpoint removed (renamed to "welcome"?)',
        "endpoint welcome: 1 compatible",
        '  compatible  endpoint added (renamed from "greet"?)',
        "",
        `1 breaking change, 1 compatible change from ${before} (manifest file) to ${after} (manifest file)`,
        "",
      ].join("\n"),
    );
  });

  it("exits 0 when every change is compatible, and says so when nothing changed", async () => {
    const compatible = await diff(pair("compatible-optional-input-added"));
    expect(compatible.code).toBe(0);
    expect(compatible.stdout).toContain('  compatible  input field "language": added, optional\n');
    const same = await diff(pair("compatible-unchanged"));
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/^no changes from \S+ \(manifest file\) to \S+ \(manifest file\)\n$/);
  });

  it("prints the report as JSON with --json, in the shape docs/diff.md describes", async () => {
    const [before, after] = pair("breaking-output-field-removed");
    const result = await diff([before, after, "--json"]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report).toEqual({
      old: `${before} (manifest file)`,
      new: `${after} (manifest file)`,
      ...JSON.parse(await readFile(join(PAIRS, "breaking-output-field-removed", "expected.json"), "utf8")),
    });
    expect(Object.keys(report.endpoints[0].changes[0])).toEqual([
      "kind",
      "breaking",
      "side",
      "path",
      "message",
    ]);
  });

  it("discovers project folders, and compares one with a manifest file", async () => {
    const before = await project((source) => source);
    const after = await project((source) =>
      source.replace("text: string;\n}", "text: string;\n  lang: string;\n}"),
    );
    const result = await diff([before, after]);
    expectNoStackTrace(result);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('  BREAKING    input field "lang": added, required\n');
    expect(result.stdout).toContain("(project folder)");

    const same = await diff([join(MINIMAL, "expected.json"), before]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(
      /^no changes from .*expected\.json \(manifest file\) to .* \(project folder\)\n$/,
    );
  });

  it("exits 2 on a side that is no file, no folder and no image, saying what it tried", async () => {
    const result = await diff(["no-such-thing:1", join(MINIMAL, "expected.json")]);
    expectNoStackTrace(result);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /^error: OLD "no-such-thing:1" is not a manifest file or a project folder \(nothing at \S+\), and the Docker engine at unix:\/\/\/nonexistent\.sock did not answer to look it up as an image/m,
    );
    expect(result.stderr).toContain(
      "give a manifest file (cozy-worker discover -o FILE), a project folder or an image tag",
    );
  });

  it("exits 2 on a file that is not a manifest, saying what it expected", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cozy-diff-"));
    temps.push(dir);
    await writeFile(join(dir, "broken.json"), "{");
    await writeFile(join(dir, "other.json"), '{"functions": [{"name": "a"}]}');
    const broken = await diff([join(MINIMAL, "expected.json"), join(dir, "broken.json")]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/^error: NEW \S+broken\.json is not a manifest: it is not JSON \(/m);
    const other = await diff([join(dir, "other.json"), join(MINIMAL, "expected.json")]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(
      "is not a manifest: functions[0] has no endpoint_name, input_schema, output_schema; give the JSON that cozy-worker discover prints",
    );
  });

  it("exits 2 without both sides", async () => {
    const result = await diff([join(MINIMAL, "expected.json")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("missing required argument 'new'");
  });
});
