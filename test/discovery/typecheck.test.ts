import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { typeErrors } from "../../src/discovery/typecheck.js";

let dir = "";

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cozy-typecheck-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(files: Record<string, string>): Promise<void> {
  for (const [file, text] of Object.entries(files)) {
    await mkdir(join(dir, file, ".."), { recursive: true });
    await writeFile(join(dir, file), text);
  }
}

const HANDLER = `import type { ActionContext } from "gen-worker";
export async function greet(_ctx: ActionContext, input: { name: string }): Promise<{ text: string }> {
  return { text: input.name };
}
`;

describe("typeErrors", () => {
  it("finds none in a project that type-checks, Node's globals and modules included", async () => {
    await write({
      "src/main.ts": `${HANDLER}import { readFileSync } from "node:fs";\nexport const size = readFileSync(process.argv[1] ?? "").byteLength + Buffer.byteLength("x");\n`,
    });
    expect(typeErrors(dir, join(dir, "src/main.ts"))).toEqual([]);
  });

  it("reports errors in the files main imports and in main, at file:line:col, but not in node_modules", async () => {
    await write({
      "src/main.ts": `${HANDLER}import { twice } from "./util.ts";\nimport { loose } from "loose";\nexport const n: number = twice("2") + loose;\n`,
      "src/util.ts":
        "export function twice(x: number): number {\n  return x * 2;\n}\nexport const bad: string = 1;\n",
      "node_modules/loose/package.json": '{"name": "loose", "types": "index.ts"}',
      "node_modules/loose/index.ts": "export const loose: number = 1;\nconst wrong: string = 2;\n",
    });
    expect(typeErrors(dir, join(dir, "src/main.ts"))).toEqual([
      {
        file: join(dir, "src/util.ts"),
        line: 4,
        column: 14,
        message: "Type 'number' is not assignable to type 'string'.",
      },
      {
        file: join(dir, "src/main.ts"),
        line: 7,
        column: 32,
        message: "Argument of type 'string' is not assignable to parameter of type 'number'.",
      },
    ]);
  });

  it("reports syntax errors", async () => {
    await write({ "src/main.ts": `${HANDLER}export const broken: number = ;\n` });
    const problems = typeErrors(dir, join(dir, "src/main.ts"));
    expect(problems).toEqual([
      { file: join(dir, "src/main.ts"), line: 5, column: 31, message: "Expression expected." },
    ]);
  });
});
