/**
 * The image side of `cozy-worker diff` and `build --compat-with`, on a real Docker Engine
 * (DOCKER_HOST; CI starts one with scripts/docker-up.sh): a copy of examples/hello is built, then
 * changed so that it breaks its clients, and built again against the first image.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";
import { BASE_IMAGE, copyProject, engineOrSkip, testTag } from "./support.js";

const docker = await engineOrSkip("diff and build --compat-with");

describe("build --compat-with, before any engine is asked", () => {
  /** An engine that is not there: these must end before the build would need it. */
  const NO_ENGINE = { DOCKER_HOST: "unix:///nonexistent.sock" };
  let dir: string;
  beforeAll(async () => {
    dir = await copyProject("examples/hello");
  });
  afterAll(() => rm(join(dir, ".."), { recursive: true, force: true }));

  it("refuses a breaking change against a manifest file, with the report", async () => {
    const old = join(dir, "..", "v1.json");
    const discovered = await cli(["discover", dir, "-o", old]);
    expect(discovered.code).toBe(0);
    const main = join(dir, "src", "main.ts");
    await writeFile(main, (await readFile(main, "utf8")).replace("@maximum 5", "@maximum 3"));
    const result = await cli(["build", dir, "-t", "never-built:1", "--compat-with", old], NO_ENGINE);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: this build breaks clients of \S+v1\.json \(1 breaking change against/m,
    );
    expect(result.stderr).toContain('    BREAKING    input field "times": value [1, 5] → [1, 3]\n');
    expect(result.stderr).not.toContain("nonexistent.sock");
  });

  it("says what it tried when the image cannot be looked up (exit 2)", async () => {
    const result = await cli(
      ["build", dir, "-t", "never-built:1", "--compat-with", "never-built:0"],
      NO_ENGINE,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error: --compat-with "never-built:0" is not a manifest file or a project folder \(nothing at \S+\), and the Docker engine at unix:\/\/\/nonexistent\.sock did not answer/m,
    );
  });

  it("takes --allow-breaking only with --compat-with (exit 2)", async () => {
    const result = await cli(["build", dir, "-t", "never-built:1", "--allow-breaking"], NO_ENGINE);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: --allow-breaking needs --compat-with <tag>");
  });
});

describe.skipIf(!docker)("an image as a side of diff and build --compat-with", () => {
  const engine = docker as NonNullable<typeof docker>;
  const v1 = testTag("compat-v1");
  const v2 = testTag("compat-v2");
  let dir: string;

  const build = (tag: string, ...flags: string[]) =>
    cli(["build", dir, "-t", tag, "--base-image", BASE_IMAGE, ...flags], {}, { timeout: 240_000 });
  const exists = (tag: string) =>
    engine
      .getImage(tag)
      .inspect()
      .then(() => true)
      .catch(() => false);

  beforeAll(async () => {
    dir = await copyProject("examples/hello");
    const result = await build(v1);
    if (result.code !== 0) throw new Error(`build failed:\n${result.stderr}`);
  }, 300_000);

  afterAll(async () => {
    for (const tag of [v1, v2])
      await engine
        .getImage(tag)
        .remove({ force: true })
        .catch(() => undefined);
    if (dir) await rm(join(dir, ".."), { recursive: true, force: true });
  });

  it("diff reads the manifest baked into the image", async () => {
    const result = await cli(["diff", v1, dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`no changes from ${v1} (image) to ${dir} (project folder)\n`);
  });

  it("build --compat-with refuses a breaking change before building, with the report", async () => {
    const main = join(dir, "src", "main.ts");
    const source = await readFile(main, "utf8");
    await writeFile(main, source.replace("  name: string;\n", "  name: string;\n  language: string;\n"));
    const result = await build(v2, "--compat-with", v1);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `error: this build breaks clients of ${v1} (1 breaking change against ${v1} (image)): make the changes compatible (docs/diff.md), or pass --allow-breaking to build anyway\n`,
    );
    expect(result.stderr).toContain("  endpoint hello: 1 breaking\n");
    expect(result.stderr).toContain('    BREAKING    input field "language": added, required\n');
    expect(result.stderr).not.toMatch(/^Step /m);
    expect(await exists(v2)).toBe(false);
  });

  it("build --allow-breaking builds it anyway, the report a warning; diff then compares two images", async () => {
    const result = await build(v2, "--compat-with", v1, "--allow-breaking");
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `warning: building anyway (--allow-breaking): 1 breaking change against ${v1} (image)\n`,
    );
    expect(await exists(v2)).toBe(true);

    const diff = await cli(["diff", v1, v2, "--json"]);
    expect(diff.code).toBe(1);
    const report = JSON.parse(diff.stdout);
    expect(report.old).toBe(`${v1} (image)`);
    expect(report.counts).toEqual({ breaking: 1, compatible: 0 });
    expect(report.endpoints[0].changes[0]).toMatchObject({
      kind: "field-added",
      side: "input",
      path: "language",
    });
  });
});
