/**
 * The README's handler example and its cozy.toml example, pasted together into a new project as a
 * reader would, make a project that discovery accepts without a warning.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discover } from "../src/discovery/discover.js";
import { fencedBlocks } from "./support/markdown-blocks.js";
import { REPO_ROOT } from "./support/runner-process.js";

/** The README's first fenced block in `language` whose text includes `marker`. */
function fencedBlock(readme: string, language: string, marker: string): string {
  const block = fencedBlocks(readme, language).find((text) => text.includes(marker));
  if (!block) throw new Error(`README.md has no ${language} block with ${marker}`);
  return block;
}

describe("README.md's examples, pasted together", () => {
  let dir: string;

  beforeAll(async () => {
    const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
    dir = await mkdtemp(join(tmpdir(), "cozy-readme-"));
    await mkdir(join(dir, "src"));
    await writeFile(join(dir, "src/main.ts"), fencedBlock(readme, "ts", "export async function detect("));
    await writeFile(join(dir, "cozy.toml"), fencedBlock(readme, "toml", "[models]"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("are a project discovery accepts without a warning, its model injection defined in cozy.toml", async () => {
    const { manifest, warnings } = await discover(dir);
    expect(warnings).toEqual([]);
    expect(manifest.functions.map((fn) => fn.name).sort()).toEqual(["detect", "tokens"]);
    const detect = manifest.functions.find((fn) => fn.name === "detect");
    expect(detect?.required_models.length).toBeGreaterThan(0);
  });
});
