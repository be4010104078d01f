/**
 * `COZY_MANIFEST_PATH`, as the Python SDK (gen-worker 0.2.1) reads it: discovery reads that cozy.toml
 * instead of `<root>/cozy.toml` (a missing file there counts as missing),
 * and `serve`'s guard checks the installed gen-worker against its `gen_worker`.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { discover } from "../../src/discovery/discover.js";
import { DiscoveryError } from "../../src/discovery/problems.js";
import { ConfigError, loadCozyConfig } from "../../src/project/cozy-toml.js";
import { checkGenWorkerPin, npmRangeOf } from "../../src/project/gen-worker-pin.js";
import { REPO_ROOT } from "../support/runner-process.js";

const OPTIONS = { packageVersion: "0.1.0" };
const toml = (name: string, genWorker = ">=0.1.0,<0.2.0") =>
  `schema_version = 1\nname = "${name}"\nmain = "src/main.ts"\ngen_worker = "${genWorker}"\n`;

let dir = "";
let elsewhere = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cozy-location-"));
  elsewhere = await mkdtemp(join(tmpdir(), "cozy-elsewhere-"));
  await mkdir(join(dir, "src"));
  await writeFile(join(dir, "src", "main.ts"), "export {};\n");
  await writeFile(join(dir, "cozy.toml"), toml("own"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(elsewhere, { recursive: true, force: true });
});

async function configError(action: () => Promise<unknown>): Promise<ConfigError> {
  const error = await action().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (error instanceof ConfigError) return error;
  throw new Error(`expected a ConfigError, got ${String(error)}`);
}

describe("loadCozyConfig with cozyTomlPath (COZY_MANIFEST_PATH)", () => {
  it("reads that file instead of <dir>/cozy.toml; main stays a path in the project folder", async () => {
    const file = join(elsewhere, "other.toml");
    await writeFile(file, toml("from-elsewhere"));
    const config = await loadCozyConfig(dir, { ...OPTIONS, cozyTomlPath: file });
    expect(config).toMatchObject({
      file,
      dir,
      name: "from-elsewhere",
      mainPath: join(dir, "src", "main.ts"),
    });
  });

  it("a missing file there counts as missing, even when <dir>/cozy.toml exists", async () => {
    const file = join(elsewhere, "nope.toml");
    const error = await configError(() => loadCozyConfig(dir, { ...OPTIONS, cozyTomlPath: file }));
    expect(error.problems).toEqual([
      {
        file,
        message: `not found (COZY_MANIFEST_PATH names it): point COZY_MANIFEST_PATH at the project's cozy.toml, or unset it to read ${join(dir, "cozy.toml")}`,
      },
    ]);
  });

  it("names a directory given instead of the file", async () => {
    const error = await configError(() => loadCozyConfig(dir, { ...OPTIONS, cozyTomlPath: elsewhere }));
    expect(error.problems[0]?.message).toMatch(/^is a directory \(COZY_MANIFEST_PATH names it\): point/);
  });

  it("reports problems of that file at its own lines", async () => {
    const file = join(elsewhere, "cozy.toml");
    await writeFile(file, toml("x").replace('"src/main.ts"', '"src/missing.ts"'));
    const error = await configError(() => loadCozyConfig(dir, { ...OPTIONS, cozyTomlPath: file }));
    expect(error.problems).toEqual([
      {
        file,
        line: 3,
        column: 1,
        message: `main: "src/missing.ts" does not exist in ${dir}: create it or fix the path`,
      },
    ]);
  });
});

describe("discover with cozyTomlPath", () => {
  const project = join(REPO_ROOT, "test", "projects", "runner");

  it("builds the manifest from that cozy.toml", async () => {
    const file = join(elsewhere, "cozy.toml");
    await writeFile(file, toml("Elsewhere Name", ">=0.1.0 <0.2.0"));
    const { manifest } = await discover(project, { cozyTomlPath: file });
    expect(manifest.project_name).toBe("elsewhere-name");
    expect((await discover(project)).manifest.project_name).toBe("runner-test");
  });

  it("fails on a missing file there with the COZY_MANIFEST_PATH problem", async () => {
    const file = join(elsewhere, "nope.toml");
    const error = await discover(project, { cozyTomlPath: file }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(DiscoveryError);
    expect((error as DiscoveryError).problems[0]).toMatchObject({ file });
    expect((error as DiscoveryError).message).toContain("not found (COZY_MANIFEST_PATH names it)");
  });
});

describe("checkGenWorkerPin (serve's guard)", () => {
  it("reads only gen_worker: satisfied, or a mismatch with the range in npm's form", async () => {
    const file = join(elsewhere, "cozy.toml");
    await writeFile(file, `gen_worker = ">=0.1.0,<0.2.0"\n`);
    expect(await checkGenWorkerPin(file, "0.1.0")).toEqual({ outcome: "satisfied", range: ">=0.1.0,<0.2.0" });
    expect(await checkGenWorkerPin(file, "0.2.0")).toEqual({
      outcome: "mismatch",
      range: ">=0.1.0,<0.2.0",
      npmRange: ">=0.1.0 <0.2.0",
    });
    expect(await checkGenWorkerPin(file, "0.1.5-dev.1")).toMatchObject({ outcome: "satisfied" });
  });

  it("says what is wrong with a file it cannot check, and reports a missing one as missing", async () => {
    const file = join(elsewhere, "cozy.toml");
    const problemOf = async (text: string) => {
      await writeFile(file, text);
      const check = await checkGenWorkerPin(file, "0.1.0");
      return check.outcome === "unreadable" ? check.problem : check.outcome;
    };
    expect(await problemOf("gen_worker = \n")).toMatch(/^is not valid TOML \(line 1: /);
    expect(await problemOf('name = "x"\n')).toBe("has no gen_worker key");
    expect(await problemOf("gen_worker = 1\n")).toBe(
      'has a gen_worker that is not a range string such as ">=0.1.0 <0.2.0"',
    );
    expect(await problemOf('gen_worker = "banana"\n')).toBe(
      'has gen_worker "banana", which is not a version range',
    );
    expect(await checkGenWorkerPin(join(elsewhere, "nope.toml"), "0.1.0")).toEqual({ outcome: "missing" });
    expect(await checkGenWorkerPin(elsewhere, "0.1.0")).toEqual({
      outcome: "unreadable",
      problem: "is a directory, not a cozy.toml",
    });
  });

  it("accepts the Python SDK's comma-separated clauses", () => {
    expect(npmRangeOf(">=0.2.0,<0.3.0")).toBe(">=0.2.0 <0.3.0");
    expect(npmRangeOf("not a range")).toBeUndefined();
    expect(npmRangeOf("^0.1.0")).toBe("^0.1.0");
  });
});
