import { spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLI, type RunnerProcess, startRunner } from "../support/runner-process.js";

const MAIN = (body: string) => `import type { ActionContext } from "gen-worker";
export async function greet(_ctx: ActionContext, input: { name: string }): Promise<{ text: string }> {
  ${body}
  return { text: \`Hello, \${input.name}\` };
}
`;
const TYPE_ERROR = "const count: number = input.name;";
const TYPE_ERROR_LINE =
  /warning: \S*\/src\/main\.ts:3:9: Type 'string' is not assignable to type 'number'\.\n/g;
const TYPO_LINE =
  /warning: \S*cozy\.toml:6:1: resources\.ram_gbs is not a known key and is ignored: did you mean ram_gb\?/g;

let project: string;
let runner: RunnerProcess | undefined;

beforeEach(async () => {
  project = await mkdtemp(join(tmpdir(), "cozy-checks-"));
  await cp(join(import.meta.dirname, "../projects/property/cozy.toml"), join(project, "cozy.toml"));
});

afterEach(async () => {
  await runner?.stop();
  await Promise.all(
    [project, runner?.outputsDir].map((dir) => dir && rm(dir, { recursive: true, force: true })),
  );
  runner = undefined;
});

async function waitFor(pattern: RegExp, after = 0): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!new RegExp(pattern.source).test(runner?.stderr().slice(after) ?? "")) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${runner?.stderr()}`);
    await sleep(50);
  }
}

const count = (pattern: RegExp) => runner?.stderr().match(pattern)?.length ?? 0;

async function greet(): Promise<number> {
  const response = await fetch(`${runner?.url}/v1/run/greet`, { method: "POST", body: '{"name":"Ada"}' });
  await response.body?.cancel();
  return response.status;
}

describe("run --local", () => {
  it("prints cozy.toml warnings and type errors as warnings, serving all the while, and again only when they change", async () => {
    await writeFile(
      join(project, "cozy.toml"),
      `${await readFile(join(project, "cozy.toml"), "utf8")}[resources]\nram_gbs = 8\n`,
    );
    await cp(join(import.meta.dirname, "../projects/property/src"), join(project, "src"), {
      recursive: true,
    });
    const main = join(project, "src/main.ts");
    await writeFile(main, MAIN(TYPE_ERROR));
    runner = await startRunner(project, {}, ["--watch"]);
    // cozy.toml's warnings come with discovery, before the runner serves.
    expect(count(TYPO_LINE)).toBe(1);
    expect(await greet()).toBe(200);
    await waitFor(TYPE_ERROR_LINE);
    expect(runner.stderr()).toMatch(
      /warning: 1 type error in the handlers: they still run here, but cozy-worker build refuses them until fixed\n/,
    );

    // A reload that changes neither prints neither again.
    let mark = runner.stderr().length;
    await writeFile(main, `${MAIN(TYPE_ERROR)}// a comment\n`);
    await waitFor(/reloaded: greet/, mark);
    await sleep(3_000);
    expect([count(TYPO_LINE), count(TYPE_ERROR_LINE)]).toEqual([1, 1]);

    mark = runner.stderr().length;
    await writeFile(main, MAIN(""));
    await waitFor(/the type errors are fixed: the handlers type-check/, mark);
    await writeFile(
      join(project, "cozy.toml"),
      (await readFile(join(project, "cozy.toml"), "utf8")).replace("ram_gbs", "ram_gb"),
    );
    await waitFor(/the project's warnings are fixed/, mark);
    expect(await greet()).toBe(200);
  });

  it("points a missing key at the key that misspells it, naming cozy.toml once", async () => {
    const toml = join(project, "cozy.toml");
    await writeFile(toml, (await readFile(toml, "utf8")).replace("main =", "mian ="));
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [CLI, "run", "--local", project, "--listen", "127.0.0.1:0"], {
        env: { ...process.env, NO_COLOR: "1" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.once("exit", (code) => done({ code, stderr }));
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /\S*cozy\.toml:3:1: missing key main: mian is not a known key; did you mean main\? rename it to main\n/,
    );
    expect(stderr).not.toContain("cozy.toml: cozy.toml");
    expect(stderr.match(/cozy\.toml/g)).toHaveLength(1);
  });
});
