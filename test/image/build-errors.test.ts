/**
 * `cozy-worker build` on broken projects that are caught before Docker runs: each ends in one
 * clear message and exit 1, whether or not an engine is there.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BAKE_LINE } from "../../src/image/dockerfile.js";
import { cli } from "../support/cli.js";
import { copyProject } from "./support.js";

async function brokenHello(change: (dir: string) => Promise<void>): Promise<string> {
  const dir = await copyProject("examples/hello");
  await change(dir);
  return dir;
}

/** Build pointed at an engine that is not there: these must fail before it would be asked. */
async function build(dir: string) {
  const result = await cli(
    ["build", dir, "-t", "never-built:1"],
    { DOCKER_HOST: "unix:///nonexistent.sock" },
    { timeout: 60_000 },
  );
  await rm(join(dir, ".."), { recursive: true, force: true });
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).not.toContain("nonexistent.sock");
  expect(result.code).toBe(1);
  return result.stderr;
}

describe("cozy-worker build refuses broken projects before Docker", () => {
  it("without cozy.toml", async () => {
    const stderr = await build(await brokenHello((dir) => rm(join(dir, "cozy.toml"))));
    expect(stderr).toMatch(/^error: no cozy\.toml in \S+: run cozy-worker build in a project folder/m);
  });

  it("with a Dockerfile that does not bake the manifest, quoting the line", async () => {
    const stderr = await build(
      await brokenHello(async (dir) => {
        const file = join(dir, "Dockerfile");
        await writeFile(file, (await readFile(file, "utf8")).replace(BAKE_LINE, ""));
      }),
    );
    expect(stderr).toMatch(/^error: Dockerfile does not bake the manifest: add this line/m);
    expect(stderr).toContain(`  ${BAKE_LINE}`);
  });

  it("without a lockfile", async () => {
    const stderr = await build(await brokenHello((dir) => rm(join(dir, "package-lock.json"))));
    expect(stderr).toMatch(/^error: no package-lock\.json in \S+: run npm install to write it/m);
  });

  it("with a handler that does not type-check, naming file:line:col", async () => {
    const stderr = await build(
      await brokenHello(async (dir) => {
        const file = join(dir, "src", "main.ts");
        const text = await readFile(file, "utf8");
        await writeFile(
          file,
          text.replace("return { greeting };", "const count: number = greeting;\n  return { greeting };"),
        );
      }),
    );
    expect(stderr).toMatch(/^error: the handlers do not type-check: fix these errors$/m);
    expect(stderr).toMatch(/src\/main\.ts:\d+:9: Type 'string' is not assignable to type 'number'\./);
  });

  it("with a discovery problem, naming file:line:col", async () => {
    const stderr = await build(
      await brokenHello(async (dir) => {
        const file = join(dir, "src", "main.ts");
        const text = await readFile(file, "utf8");
        await writeFile(file, text.replace("name: string;", "name: () => void;"));
      }),
    );
    expect(stderr).toMatch(/^error: discovery failed: fix these problems$/m);
    expect(stderr).toMatch(/src\/main\.ts:\d+:\d+: /);
  });

  it("without a Dockerfile, says it uses gen-worker's CPU Dockerfile (then fails on the type error)", async () => {
    const stderr = await build(
      await brokenHello(async (dir) => {
        await rm(join(dir, "Dockerfile"));
        const file = join(dir, "src", "main.ts");
        const text = await readFile(file, "utf8");
        await writeFile(
          file,
          text.replace("return { greeting };", "const n: number = greeting;\n  return { greeting };"),
        );
      }),
    );
    expect(stderr).toContain(
      "no Dockerfile in the project: using gen-worker's CPU Dockerfile (--gpu for the GPU one)",
    );
    expect(stderr).toMatch(/^error: the handlers do not type-check: fix these errors$/m);
  });
});
