/**
 * examples/hello/README.md's typed-client walkthrough stays true: its `call.ts` compiles against
 * the example's handlers, and its `wrong.ts` fails where and how the README says.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fencedBlocks } from "../support/markdown-blocks.js";
import { REPO_ROOT } from "../support/runner-process.js";

const README = join(REPO_ROOT, "examples/hello/README.md");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cozy-walkthrough-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it("call.ts compiles, and wrong.ts fails at the lines and with the errors the README shows", async () => {
  const readme = await readFile(README, "utf8");
  const [call, wrong] = fencedBlocks(readme, "ts");
  const shown = fencedBlocks(readme, "text").find((block) => block.includes("wrong.ts("));
  expect(call).toContain('createClient<typeof import("./src/main.js")>');
  // The README's files sit in examples/hello; here they name it by path.
  const here = (source: string) =>
    source.replace('"./src/main.js"', JSON.stringify(join(REPO_ROOT, "examples/hello/src/main.js")));
  await writeFile(join(dir, "call.ts"), here(call ?? ""));
  await writeFile(join(dir, "wrong.ts"), here(wrong ?? ""));
  await writeFile(join(dir, "package.json"), '{ "type": "module" }');
  const compilerOptions = {
    strict: true,
    target: "ES2022",
    module: "NodeNext",
    noEmit: true,
    skipLibCheck: true,
    types: ["node"],
    typeRoots: [join(REPO_ROOT, "node_modules/@types")],
    paths: {
      "gen-worker": [join(REPO_ROOT, "src/index.ts")],
      "gen-worker/client": [join(REPO_ROOT, "src/client/index.ts")],
    },
  };
  const tsc = async (file: string) => {
    await writeFile(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: [file] }));
    const tscPath = join(REPO_ROOT, "node_modules/typescript/bin/tsc");
    return promisify(execFile)(process.execPath, [tscPath, "-p", dir]).then(
      () => "",
      (error: { stdout: string }) => error.stdout,
    );
  };
  expect(await tsc("call.ts")).toBe("");
  const where = (text: string) =>
    [...text.matchAll(/wrong\.ts\((\d+,\d+)\): error (TS\d+)/g)].map((m) => `${m[1]} ${m[2]}`);
  expect(where(await tsc("wrong.ts"))).toEqual(where(shown ?? ""));
  expect(where(shown ?? "")).toHaveLength(3);
}, 60_000);
