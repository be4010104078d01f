/**
 * The staged dependencies image (`gen-worker-deps:<hash>`) on a real Docker Engine: a project
 * whose dependencies change gets a new one, and its earlier one is removed.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";
import { BASE_IMAGE, copyProject, engineOrSkip, testTag } from "./support.js";

const docker = await engineOrSkip("deps image tests");

describe.skipIf(!docker)("the dependencies image of a project", () => {
  const engine = docker as NonNullable<typeof docker>;
  const tag = testTag("deps");
  let dir: string | undefined;
  const depsImages: string[] = [];
  afterAll(async () => {
    for (const name of [tag, ...depsImages])
      await engine
        .getImage(name)
        .remove({ force: true })
        .catch(() => undefined);
    if (dir) await rm(join(dir, ".."), { recursive: true, force: true });
  });

  /** Builds and returns the deps image the build names in its log. */
  async function build(project: string): Promise<string> {
    const result = await cli(["build", project, "-t", tag, "--base-image", BASE_IMAGE]);
    if (result.code !== 0) throw new Error(`build failed:\n${result.stderr}`);
    const name = /dependencies: .*\((gen-worker-deps:[0-9a-f]+)\)/.exec(result.stderr)?.[1];
    if (name === undefined) throw new Error(`no deps image in the build log:\n${result.stderr}`);
    depsImages.push(name);
    return name;
  }

  it("is replaced, not piled up, when a dependency changes", async () => {
    dir = await copyProject("examples/hello");
    // A dependency of this test's own, so no other build shares its deps image.
    const dep = join(dir, "node_modules", "deps-image-test-dep");
    await mkdir(dep, { recursive: true });
    await writeFile(
      join(dep, "package.json"),
      JSON.stringify({ name: "deps-image-test-dep", version: "1.0.0" }),
    );
    await writeFile(join(dep, "index.js"), "module.exports = 1;\n");
    const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
    pkg.dependencies["deps-image-test-dep"] = "1.0.0";
    await writeFile(join(dir, "package.json"), JSON.stringify(pkg, null, 2));

    const first = await build(dir);
    await writeFile(join(dep, "index.js"), "module.exports = 2; // changed\n");
    const second = await build(dir);

    expect(second).not.toBe(first);
    await expect(engine.getImage(second).inspect()).resolves.toBeDefined();
    await expect(engine.getImage(first).inspect()).rejects.toThrow(/no such image/i);
  }, 240_000);
});
