/**
 * The typed clients against a built image: `cozy-worker client TAG` reads the manifest baked into
 * the image of examples/hello, and both that generated client and gen-worker/client call the dev
 * runner inside the image (run --image). Needs a Docker engine (scripts/docker-up.sh).
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type Progress } from "../../src/client/index.js";
import { cli } from "../support/cli.js";
import { CLI, REPO_ROOT } from "../support/runner-process.js";
import { BASE_IMAGE, engineOrSkip, testTag } from "./support.js";

const docker = await engineOrSkip("image client tests");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe.skipIf(!docker)("typed clients for the image of examples/hello", () => {
  const HELLO = join(REPO_ROOT, "examples/hello");
  const tag = testTag("client-hello");
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "cozy-image-client-"));
    const build = await cli(["build", HELLO, "-t", tag, "--base-image", BASE_IMAGE]);
    if (build.code !== 0) throw new Error(`build failed:\n${build.stderr}`);
  }, 240_000);

  afterAll(async () => {
    await docker
      ?.getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("writes the client from the image's manifest, and both clients call the runner in the image", async () => {
    const written = await cli(["client", tag, "-o", join(work, "client.ts")]);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stderr).toContain(`from ${tag} (image)`);
    const fromFolder = await cli(["client", HELLO]);
    const withoutOrigin = (text: string) => text.replace(/ from .* \((image|project folder)\)/, "");
    expect(withoutOrigin(await readFile(join(work, "client.ts"), "utf8"))).toBe(
      withoutOrigin(fromFolder.stdout),
    );

    await writeFile(join(work, "package.json"), '{ "type": "module" }');
    await writeFile(
      join(work, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: "ES2022",
          module: "NodeNext",
          lib: ["ES2022", "DOM"],
          types: [],
          outDir: "out",
        },
        include: ["client.ts"],
      }),
    );
    await promisify(execFile)(process.execPath, [
      join(REPO_ROOT, "node_modules/typescript/bin/tsc"),
      "-p",
      work,
    ]);

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const runner = spawn(
      process.execPath,
      [CLI, "run", "--image", tag, "--listen", `127.0.0.1:${port}`, "--outputs", join(work, "outputs")],
      { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let logs = "";
    runner.stderr.on("data", (chunk: Buffer) => {
      logs += chunk.toString();
    });
    const exited = new Promise((done) => runner.once("exit", done));
    try {
      const deadline = Date.now() + 30_000;
      while (
        !(await fetch(`${url}/health`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (Date.now() > deadline) throw new Error(`the runner in the image did not start:\n${logs}`);
        await new Promise((done) => setTimeout(done, 200));
      }
      const generated = await import(pathToFileURL(join(work, "out/client.js")).href);
      const standalone = generated.createClient({ url });
      expect(await standalone.run("hello", { name: "image" })).toEqual({ greeting: "Hello, image!" });
      const words: string[] = [];
      for await (const { delta } of standalone.stream("words", { text: "in the image" })) words.push(delta);
      expect(words).toEqual(["in", "the", "image"]);

      const typed = createClient<typeof import("../../examples/hello/src/main.js")>({ url });
      const progress: Progress[] = [];
      const { card } = await typed.run(
        "card",
        { name: "Ada" },
        { onProgress: (step) => progress.push(step) },
      );
      expect(card.ref).toMatch(/^runs\/[0-9a-f-]{36}\/outputs\/card\.svg$/);
      expect(progress).toEqual([{ fraction: 0.5, stage: "drawing" }]);
    } finally {
      runner.kill("SIGINT");
      await exited;
    }
  }, 120_000);
});
