/**
 * `cozy-worker client` writes a standalone client: it compiles under `tsc --strict` with nothing
 * but fetch's types (no gen-worker, no @types/node), mistakes in its use do not compile, and the
 * compiled client round-trips calls to real dev runners (examples/hello, and examples/vad with its
 * model from the examples' loopback hub).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";
import { startExampleHub } from "../support/example-hub.js";
import {
  REPO_ROOT,
  type RunnerProcess,
  removeTenantBundles,
  startRunner,
} from "../support/runner-process.js";

const TSC = join(REPO_ROOT, "node_modules/typescript/bin/tsc");
const run = promisify(execFile);

/** The strictest options a consumer may have; `lib` picks where fetch's types come from. */
function tsconfig(lib: string[], types: string[], emit: boolean): string {
  return JSON.stringify({
    compilerOptions: {
      strict: true,
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      lib,
      types,
      typeRoots: [join(REPO_ROOT, "node_modules/@types")],
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      verbatimModuleSyntax: true,
      noEmit: !emit,
      ...(emit ? { outDir: "out" } : {}),
    },
    include: ["*.ts"],
  });
}

/**
 * Compiles the folder to `out/` with a browser's types (DOM); `alsoNode` type-checks it first with
 * Node.js's instead.
 */
async function compile(dir: string, alsoNode = false): Promise<void> {
  const builds = [["tsconfig.json", ["ES2022", "DOM"], [], true]] as const;
  const nodeCheck = ["tsconfig.node.json", ["ES2022"], ["node"], false] as const;
  for (const [name, lib, types, emit] of alsoNode ? [nodeCheck, ...builds] : builds) {
    await writeFile(join(dir, name), tsconfig([...lib], [...types], emit));
    const result = await run(process.execPath, [TSC, "-p", join(dir, name)]).catch(
      (error: { stdout: string }) => error,
    );
    expect(result.stdout, `tsc -p ${name}`).toBe("");
  }
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cozy-client-"));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe("the generated client for examples/hello", () => {
  const HELLO = join(REPO_ROOT, "examples/hello");
  let dir: string;
  let runner: RunnerProcess;

  beforeAll(async () => {
    dir = join(work, "hello");
    await mkdir(dir);
    await writeFile(join(dir, "package.json"), '{ "type": "module" }');
    runner = await startRunner(HELLO);
  });
  afterAll(async () => {
    await runner?.stop();
    await removeTenantBundles(HELLO, runner?.child.pid);
    if (runner) await rm(runner.outputsDir, { recursive: true, force: true });
  });

  it("is written from the project folder, imports nothing, and compiles with its types under --strict", async () => {
    const written = await cli(["client", HELLO, "--out", join(dir, "client.ts")]);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stderr).toContain("a client for hello, words, card from");
    const source = await readFile(join(dir, "client.ts"), "utf8");
    expect(source).not.toMatch(/^\s*import /m);
    expect(source).toMatch(/^export interface HelloInput \{/m);
    expect(source).toMatch(/^export function createClient\(options: ClientOptions\): Client<Endpoints>/m);
    await writeFile(
      join(dir, "use.ts"),
      `import { createClient, type HelloOutput, type CardOutput, type WordsDelta } from "./client.js";

export const client = createClient({ url: process.argv[2] ?? "" });
declare const process: { argv: string[] };

export async function types(): Promise<[HelloOutput, CardOutput, WordsDelta[]]> {
  const deltas: WordsDelta[] = [];
  for await (const delta of client.stream("words", { text: "a b" })) deltas.push(delta);
  return [await client.run("hello", { name: "world" }), await client.run("card", { name: "Ada" }), deltas];
}

export function mistakes(): void {
  // @ts-expect-error: no endpoint "helo"
  void client.run("helo", { name: "world" });
  // @ts-expect-error: name is required
  void client.run("hello", {});
  // @ts-expect-error: name is a string
  void client.run("hello", { name: 42 });
  // @ts-expect-error: hello gives a single result
  void client.stream("hello", { name: "world" });
  // @ts-expect-error: words streams
  void client.run("words", { text: "a b" });
}
`,
    );
    await compile(dir, true);
  }, 120_000);

  it("round-trips a run and a stream on the dev runner", async () => {
    const generated = await import(pathToFileURL(join(dir, "out/client.js")).href);
    const client = generated.createClient({ url: runner.url });
    expect(await client.run("hello", { name: "world" })).toEqual({ greeting: "Hello, world!" });
    const words: string[] = [];
    for await (const { delta } of client.stream("words", { text: "one two" })) words.push(delta);
    expect(words).toEqual(["one", "two"]);
    const error = await client.run("hello", { name: "" }).catch((failure: Error) => failure);
    expect(error).toBeInstanceOf(generated.ValidationRunError);
    expect(error).toMatchObject({ errorType: "validation", retryable: false });
  });
});

describe("the generated client for examples/vad", () => {
  const VAD = join(REPO_ROOT, "examples/vad");
  let dir: string;
  let hub: Awaited<ReturnType<typeof startExampleHub>>;
  let runner: RunnerProcess;

  beforeAll(async () => {
    dir = join(work, "vad");
    await mkdir(dir);
    await writeFile(join(dir, "package.json"), '{ "type": "module" }');
    hub = await startExampleHub();
    runner = await startRunner(
      VAD,
      {
        HF_ENDPOINT: hub.endpoint,
        WORKER_MODEL_CACHE_DIR: join(work, "models"),
        WORKER_ORT_PROVIDERS: "cpu",
      },
      ["--files", join(VAD, "samples")],
    );
  }, 60_000);
  afterAll(async () => {
    await runner?.stop();
    hub?.stop();
    await removeTenantBundles(VAD, runner?.child.pid);
    if (runner) await rm(runner.outputsDir, { recursive: true, force: true });
  });

  it("is written from a manifest file, compiles, and finds the speech in samples/hello.wav", async () => {
    const manifest = join(dir, "manifest.json");
    expect((await cli(["discover", VAD, "-o", manifest])).code).toBe(0);
    const written = await cli(["client", manifest, "-o", join(dir, "client.ts")]);
    expect(written.code, written.stderr).toBe(0);
    await writeFile(
      join(dir, "use.ts"),
      `import { createClient, type DetectSpeechOutput } from "./client.js";

export function detect(url: string): Promise<DetectSpeechOutput> {
  return createClient({ url }).run("detectSpeech", { audio: { ref: "hello.wav" }, threshold: 0.5 });
}

export function mistakes(url: string): void {
  // @ts-expect-error: audio is a file ref, not a string
  void createClient({ url }).run("detectSpeech", { audio: "hello.wav" });
}
`,
    );
    await compile(dir);
    const { detect } = await import(pathToFileURL(join(dir, "out/use.js")).href);
    const output = await detect(runner.url);
    expect(output.duration_s).toBeCloseTo(6.15, 1);
    expect(output.segments).toHaveLength(2);
  }, 120_000);
});
