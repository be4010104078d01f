/**
 * examples/hello's own tests (gen-worker/testing on `node --test`, plain JavaScript) pass when the
 * project is installed as a tenant's would be, and leave no temporary folder behind.
 */
import { cp, mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { expect, it } from "vitest";
import { REPO_ROOT } from "./testing-module.js";

it("examples/hello's npm test runs the kit on Node's test runner and cleans up after itself", async () => {
  const work = await mkdtemp(join(tmpdir(), "kit-node-test-"));
  const temp = join(work, "tmp");
  const project = join(work, "hello");
  try {
    await mkdir(temp);
    await cp(join(REPO_ROOT, "examples/hello"), project, {
      recursive: true,
      filter: (source) => !/[\\/](node_modules|\.cozy|outputs)$/.test(source),
    });
    // What `npm install` makes of the example's "gen-worker": "file:../..".
    await mkdir(join(project, "node_modules"));
    await symlink(REPO_ROOT, join(project, "node_modules/gen-worker"), "dir");
    const result = await execa(process.execPath, ["--test", "test/"], {
      cwd: project,
      env: { TMPDIR: temp, NO_COLOR: "1" },
      reject: false,
    });
    expect(result.stdout).toMatch(/# pass 5\n# fail 0/);
    expect(result.exitCode).toBe(0);
    expect(await readdir(temp)).toEqual([]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}, 60_000);
