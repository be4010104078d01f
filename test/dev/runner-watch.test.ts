import { cp, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunnerProcess, startRunner } from "../support/runner-process.js";

const MAIN = (greeting: string) => `import type { ActionContext } from "gen-worker";
export async function greet(_ctx: ActionContext, input: { name: string }): Promise<{ text: string }> {
  return { text: \`${greeting}, \${input.name}\` };
}
`;

let runner: RunnerProcess;
let project: string;

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), "cozy-watch-"));
  await cp(join(import.meta.dirname, "../projects/property/cozy.toml"), join(project, "cozy.toml"));
  await cp(join(import.meta.dirname, "../projects/property/src"), join(project, "src"), { recursive: true });
  await writeFile(join(project, "src/main.ts"), MAIN("Hello"));
  runner = await startRunner(project, {}, ["--watch"]);
});

afterAll(async () => {
  await runner?.stop();
});

async function greet(): Promise<{ status: number; text?: string }> {
  const response = await fetch(`${runner.url}/v1/run/greet`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"name":"Ada"}',
  });
  const body = (await response.json()) as { output?: { text: string } };
  return { status: response.status, text: body.output?.text };
}

async function waitForLog(pattern: RegExp, after: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!pattern.test(runner.stderr().slice(after))) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${runner.stderr()}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

it("--watch swaps in changed handlers without dropping the server, and keeps serving through a broken change", async () => {
  expect(await greet()).toEqual({ status: 200, text: "Hello, Ada" });

  let mark = runner.stderr().length;
  await writeFile(join(project, "src/main.ts"), MAIN("Bonjour"));
  await waitForLog(/reloaded: greet/, mark);
  expect(await greet()).toEqual({ status: 200, text: "Bonjour, Ada" });

  mark = runner.stderr().length;
  await writeFile(join(project, "src/main.ts"), `${MAIN("Hola")}\nexport const broken: number = ;\n`);
  await waitForLog(/reload failed, still serving the previous code/, mark);
  expect(await greet()).toEqual({ status: 200, text: "Bonjour, Ada" });
});
