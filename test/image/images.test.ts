/**
 * Real images from real projects on a real Docker Engine (DOCKER_HOST; CI starts one with
 * scripts/docker-up.sh): each project is built once from the local Node base image, then the
 * dev runner runs inside it (run --image), `serve` inside it completes a task for the one-shot
 * scheduler on the host, and the image goes through a local registry and back.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABEL_GEN_WORKER_VERSION, LABEL_MANIFEST_SHA256, LABEL_PROJECT } from "../../src/image/labels.js";
import { schemaHash } from "../../src/util/canonical-json.js";
import { type CliResult, cli } from "../support/cli.js";
import { startExampleHub } from "../support/example-hub.js";
import { CLI, REPO_ROOT } from "../support/runner-process.js";
import { BASE_IMAGE, engineOrSkip, testTag } from "./support.js";

interface ProjectCase {
  dir: string;
  /** An endpoint to call, its payload fields as `invoke` takes them, and text its output holds. */
  invoke: string[];
  expect: string;
  /** A folder whose files input `Asset` refs name (run --files, invoke --serve-files-dir). */
  files?: string;
  /** The project's models come from the examples' local Hugging Face hub (HF_ENDPOINT). */
  models?: boolean;
}

// One line per project.
const PROJECTS: ProjectCase[] = [
  { dir: "examples/hello", invoke: ["hello", "name=world"], expect: "Hello, world!" },
  {
    dir: "examples/vad",
    invoke: ["detectSpeech", 'audio:={"ref": "hello.wav"}'],
    expect: '"segments"',
    files: "examples/vad/samples",
    models: true,
  },
];

/** The settings that point a container at the examples' hub, started once for the projects that need it. */
let exampleHub: Awaited<ReturnType<typeof startExampleHub>> | undefined;
async function modelEnv(project: ProjectCase): Promise<string[]> {
  if (!project.models) return [];
  exampleHub ??= await startExampleHub();
  return [`HF_ENDPOINT=${exampleHub.endpoint}`, "WORKER_ORT_PROVIDERS=cpu"];
}

afterAll(() => exampleHub?.stop());

const docker = await engineOrSkip("image tests");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

function collect(child: ChildProcess): {
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
} {
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { out: () => out, err: () => err, exited };
}

describe.skipIf(!docker).each(PROJECTS)("the image of $dir", (project) => {
  const engine = docker as NonNullable<typeof docker>;
  const tag = testTag(project.dir.split("/").at(-1) ?? "project");
  const tags = [tag];
  let build: CliResult;
  let built: { imageId: string; labels: Record<string, string> };

  beforeAll(async () => {
    build = await cli([
      "build",
      join(REPO_ROOT, project.dir),
      "-t",
      tag,
      "--base-image",
      BASE_IMAGE,
      "--json",
    ]);
    if (build.code !== 0) throw new Error(`build failed:\n${build.stderr}`);
    built = JSON.parse(build.stdout);
  }, 240_000);

  afterAll(async () => {
    for (const name of tags)
      await engine
        .getImage(name)
        .remove({ force: true })
        .catch(() => undefined);
  });

  it("is built with progress, labelled, and bakes the host's manifest", async () => {
    expect(build.stderr).toMatch(/build context: \d+ files, [\d.]+ (B|kB|MB)/);
    expect(build.stderr).toMatch(/^ {2}\[\d+\/\d+\] RUN mkdir -p \/app\/\.cozy && cozy-worker discover/m);
    expect(build.stderr).toContain(`built ${tag}`);
    const discovered = await cli(["discover", join(REPO_ROOT, project.dir)]);
    const manifest = JSON.parse(discovered.stdout);
    const info = await engine.getImage(tag).inspect();
    expect(info.Id).toBe(built.imageId);
    expect(info.Config.Labels).toMatchObject({
      [LABEL_MANIFEST_SHA256]: schemaHash(manifest),
      [LABEL_PROJECT]: manifest.project_name,
      [LABEL_GEN_WORKER_VERSION]: manifest.runtime.gen_worker,
    });
    expect(info.Config.User).not.toBe("");
    expect(info.Config.Entrypoint).toEqual(["cozy-worker", "serve"]);
  });

  it("runs the dev runner inside the image (run --image), answers invoke, and Ctrl-C removes the container", async () => {
    const port = await freePort();
    const outputs = await mkdtemp(join(tmpdir(), "cozy-image-outputs-"));
    const settings = (await modelEnv(project)).flatMap((setting) => ["-e", setting]);
    const files = project.files ? ["--files", join(REPO_ROOT, project.files)] : [];
    const runner = spawn(
      process.execPath,
      [
        CLI,
        "run",
        "--image",
        tag,
        "--listen",
        `127.0.0.1:${port}`,
        "--outputs",
        outputs,
        ...settings,
        ...files,
      ],
      { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const logs = collect(runner);
    try {
      await until("the runner in the container", async () =>
        (await fetch(`http://127.0.0.1:${port}/health`)).ok ? true : undefined,
      );
      const invoked = await cli(["invoke", ...project.invoke, "--url", `http://127.0.0.1:${port}`]);
      expect(invoked.code, invoked.stderr).toBe(0);
      expect(invoked.stdout).toContain(project.expect);
    } finally {
      runner.kill("SIGINT");
      expect(await logs.exited).toBe(0);
      await rm(outputs, { recursive: true, force: true });
    }
    expect(logs.err()).toMatch(/in container [0-9a-f]{12} \((bridge|host) network\)/);
    expect(logs.err()).toContain("stopped and removed");
    const left = await engine.listContainers({ all: true, filters: { label: [`cozy.run-image=${tag}`] } });
    expect(left).toEqual([]);
  }, 60_000);

  it("serves: the worker in the container completes a task for the one-shot scheduler on the host", async () => {
    const invocation = spawn(
      process.execPath,
      [
        CLI,
        "invoke",
        ...project.invoke,
        "--scheduler",
        "--listen",
        "127.0.0.1:0",
        "--wait-s",
        "30",
        ...(project.files ? ["--serve-files-dir", join(REPO_ROOT, project.files)] : []),
      ],
      { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const transcript = collect(invocation);
    const address = await until("the one-shot scheduler", async () =>
      Promise.resolve(/\[listening\] scheduler=(\S+);/.exec(transcript.err())?.[1]),
    );
    const container = await engine.createContainer({
      Image: tag,
      Env: [`SCHEDULER_ADDR=${address}`, "WORKER_JWT=dev", ...(await modelEnv(project))],
      HostConfig: { NetworkMode: "host" },
    });
    try {
      await container.start();
      expect(await transcript.exited, transcript.err()).toBe(0);
      expect(transcript.out()).toMatch(/\[connected\] functions=/);
      expect(transcript.out()).toContain(project.expect);
    } finally {
      await container.remove({ force: true });
    }
  }, 60_000);

  it("is pushed to a local registry with progress, and pulled back with the same image id", async () => {
    const port = await freePort();
    const storage = await mkdtemp(join(tmpdir(), "cozy-registry-"));
    const config = join(storage, "config.yml");
    await writeFile(
      config,
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${storage}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`,
    );
    const registry = execFile("/usr/bin/docker-registry", ["serve", config]);
    try {
      await until("the registry", async () =>
        (await fetch(`http://127.0.0.1:${port}/v2/`)).ok ? true : undefined,
      );
      const remote = `127.0.0.1:${port}/${tag.split("/").at(-1)}`;
      tags.push(remote);
      const pushed = await cli([
        "build",
        join(REPO_ROOT, project.dir),
        "-t",
        remote,
        "--base-image",
        BASE_IMAGE,
        "--push",
        "--json",
      ]);
      expect(pushed.code, pushed.stderr).toBe(0);
      expect(pushed.stderr).toMatch(/^ {2}\d+\/\d+ layers, [\d.]+ (B|kB|MB) sent$/m);
      const { imageId, digest } = JSON.parse(pushed.stdout);
      expect(imageId).toBe(built.imageId);
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

      for (const name of tags) await engine.getImage(name).remove({ force: true });
      await expect(engine.getImage(imageId).inspect()).rejects.toThrow();
      await new Promise<void>((done, fail) =>
        engine.pull(remote, {}, (error: Error | null, stream?: NodeJS.ReadableStream) => {
          if (error || !stream) return fail(error);
          engine.modem.followProgress(stream, (failure: Error | null) => (failure ? fail(failure) : done()));
        }),
      );
      expect((await engine.getImage(remote).inspect()).Id).toBe(imageId);
    } finally {
      registry.kill();
      await rm(storage, { recursive: true, force: true });
    }
  }, 120_000);
});
