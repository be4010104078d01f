/**
 * Handler discovery where it departs from the Python SDK (gen-worker 0.2.1) on purpose
 * (docs/differences.md): the payload is the second parameter and models come after it, while the
 * Python SDK took the payload in any position after ctx; and discovery reads the source without
 * running it, while the Python SDK imported the tenant's modules.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discover } from "../../src/discovery/discover.js";
import { DiscoveryError } from "../../src/discovery/problems.js";
import { writeSourceProject } from "../support/source-project.js";

let root: string;

/** A project in a new folder under `root` with this `src/main.ts`; returns its folder. */
function project(name: string, main: string[]): Promise<string> {
  return writeSourceProject(root, name, main, { det: "hf:acme/det" });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "handlers-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("handler parameters", () => {
  it("refuses a model injection before the payload, saying to put models after it", async () => {
    const dir = await project("order", [
      'import type { ActionContext, Model } from "gen-worker";',
      'export async function detect(ctx: ActionContext, det: Model<"det">, input: { url: string }): Promise<{ ok: boolean }> {',
      "  return { ok: true };",
      "}",
    ]);
    const error = await discover(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DiscoveryError);
    const messages = (error as DiscoveryError).problems.map((problem) => problem.message);
    expect(messages).toContain(
      "handler 'detect': the second parameter must be the payload; put model injections after it",
    );
  });

  it("never runs the tenant's code: a module that throws when imported is discovered", async () => {
    const dir = await project("throws", [
      'import type { ActionContext } from "gen-worker";',
      'throw new Error("imported");',
      "export async function greet(ctx: ActionContext, input: { name: string }): Promise<{ text: string }> {",
      "  return { text: input.name };",
      "}",
    ]);
    const { manifest } = await discover(dir);
    expect(manifest.functions.map((fn) => fn.name)).toEqual(["greet"]);
  });
});
