/**
 * The client generator on every manifest the discovery fixtures expect (each schema shape
 * discovery makes: tuples, enums, records, recursion, files, streams), and on clashing type names.
 * Every generated client must compile under `tsc --strict`.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateClient } from "../../src/client/generate.js";
import type { Manifest, ManifestFunction } from "../../src/contract/manifest.js";
import { REPO_ROOT } from "../support/runner-process.js";

const FIXTURES = join(REPO_ROOT, "test/fixtures");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cozy-generate-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A function of a hand-made manifest: `name` takes `input` and gives `output` (root schemas). */
function fn(name: string, input: object, output: object): ManifestFunction {
  return {
    name,
    endpoint_name: name,
    output_mode: "single",
    incremental_output: false,
    input_schema: input,
    output_schema: output,
  } as ManifestFunction;
}

const asset = { title: "Asset", type: "object", properties: { ref: { type: "string" } }, required: ["ref"] };
const named = (title: string, properties: object, defs: object = {}) => ({
  $ref: `#/$defs/${title}`,
  $defs: { [title]: { title, type: "object", properties, required: Object.keys(properties) }, ...defs },
});

it("shares a type met twice, and renames one whose name is taken", async () => {
  const manifest = {
    project_name: "clashes",
    functions: [
      fn(
        "first",
        named("Input", { file: { $ref: "#/$defs/Asset" } }, { Asset: asset }),
        named("Progress", { done: { type: "boolean" } }),
      ),
      fn(
        "second",
        named("Input", { count: { type: "integer" }, items: { type: "array", items: { type: "string" } } }),
        named("Output", { file: { $ref: "#/$defs/Asset" } }, { Asset: asset }),
      ),
    ],
  } as unknown as Manifest;
  const source = await generateClient(manifest, "a test");
  await writeFile(join(dir, "clashes.ts"), source);
  expect(source).toMatch(/export interface Input \{\s+file: Asset;\s+\}/);
  expect(source).toMatch(/export interface Input2 \{\s+count: number;\s+items: string\[\];\s+\}/);
  expect(source).toMatch(/export interface Progress2 \{\s+done: boolean;\s+\}/);
  expect(source.match(/^export interface Asset /gm)).toHaveLength(1);
  expect(source).toMatch(
    /first: \{\s+payload: Input;\s+result: Progress2;\s+\};\s+second: \{\s+payload: Input2;\s+result: Output;/,
  );
});

it("every discovery fixture's manifest gives a client that compiles under --strict", async () => {
  const fixtures = (await readdir(FIXTURES)).sort();
  const generated: string[] = [];
  for (const fixture of fixtures) {
    const text = await readFile(join(FIXTURES, fixture, "expected.json"), "utf8").catch(() => undefined);
    if (text === undefined) continue;
    await writeFile(join(dir, `${fixture}.ts`), await generateClient(JSON.parse(text) as Manifest, fixture));
    generated.push(fixture);
  }
  expect(generated.length).toBeGreaterThan(20);
  await writeFile(join(dir, "package.json"), '{ "type": "module" }');
  await writeFile(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: "ES2022",
        module: "NodeNext",
        lib: ["ES2022", "DOM"],
        types: [],
        noEmit: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
      },
      include: ["*.ts"],
    }),
  );
  const tsc = join(REPO_ROOT, "node_modules/typescript/bin/tsc");
  const result = await promisify(execFile)(process.execPath, [tsc, "-p", dir]).catch(
    (error: { stdout: string }) => error,
  );
  expect(result.stdout).toBe("");
  const tuples = await readFile(join(dir, "tuples.ts"), "utf8");
  expect(tuples).toContain("start: [number, number];");
  expect(tuples).toContain("via?: [string, ...number[]];");
  const streams = await readFile(join(dir, "streaming-outputs.ts"), "utf8");
  expect(streams).toMatch(/letters: \{\s+payload: PromptInput;\s+delta: string;/);
}, 60_000);
