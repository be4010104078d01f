/**
 * Build failures that only the engine can show, on a real Docker Engine: each is one clear
 * message and exit 1, never a stack trace.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";
import { BASE_IMAGE, copyProject, engineOrSkip, testTag } from "./support.js";

const docker = await engineOrSkip("image failure tests");

describe.skipIf(!docker)("cozy-worker build reports engine-side failures", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(join(dir, ".."), { recursive: true, force: true });
  });

  it("a RUN step that fails: the step, its exit code and its last output lines", async () => {
    const dir = await copyProject("examples/hello");
    dirs.push(dir);
    const file = join(dir, "Dockerfile");
    const text = await readFile(file, "utf8");
    await writeFile(
      file,
      text.replace(
        "COPY . .\n",
        `COPY . .\nRUN node -e "console.log('preparing assets'); console.error('assets.tar missing'); process.exit(3)"\n`,
      ),
    );
    const result = await cli(["build", dir, "-t", testTag("broken-run"), "--base-image", BASE_IMAGE]);
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr).toMatch(/^error: step \d+\/\d+ failed: RUN node -e .*process\.exit\(3\)/m);
    expect(result.stderr).toContain("returned a non-zero code: 3");
    // Both of its lines, stdout's and stderr's: the engine streams the two without a fixed order.
    const lastOutput = /its last output:\n((?:\s+.+\n?)+)/.exec(result.stderr)?.[1] ?? "";
    expect(lastOutput).toContain("preparing assets");
    expect(lastOutput).toContain("assets.tar missing");
  }, 120_000);

  it("a base image that cannot be found", async () => {
    const dir = await copyProject("examples/hello");
    dirs.push(dir);
    const result = await cli([
      "build",
      dir,
      "-t",
      testTag("broken-base"),
      "--base-image",
      "local/no-such-base:1",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr).toMatch(
      /^error: the base image in step \d+\/\d+ \(FROM \$\{BASE_IMAGE\}\) cannot be found or pulled/m,
    );
    expect(result.stderr).toContain("pass --base-image with an image this engine has");
  }, 120_000);
});
