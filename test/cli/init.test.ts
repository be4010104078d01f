/**
 * `cozy-worker init` end to end, on the built CLI (bin/cozy-worker.js → dist/): the project it
 * makes passes discover, serves under `run --local`, and passes its own `npm test`. The scaffold
 * depends on this checkout (GEN_WORKER_INIT_DEPENDENCY=file:...), so `npm install` is offline.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkDockerfile } from "../../src/image/dockerfile.js";
import { CLI, REPO_ROOT, startRunner } from "../support/runner-process.js";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment without npm's per-script variables, as a user's shell would have it. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith("npm_")) env[key] = value;
  }
  return { ...env, NO_COLOR: "1", GEN_WORKER_INIT_DEPENDENCY: `file:${REPO_ROOT}`, ...extra };
}

function exec(file: string, args: string[], cwd: string, timeout = 60_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: cleanEnv(), timeout }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const cli = (args: string[], cwd: string) => exec(process.execPath, [CLI, ...args], cwd);

let work: string;
let project: string;
let initResult: Result;

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, "dist", "cli", "main.js"))) {
    throw new Error("dist/ is missing: run `npm run build` (npm test does)");
  }
  work = await mkdtemp(join(tmpdir(), "cozy-init-"));
  project = join(work, "My_Worker");
  initResult = await cli(["init", "My_Worker"], work);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("cozy-worker init", () => {
  it("scaffolds the hello template into a new folder and prints the next steps", async () => {
    expect(initResult.stderr).not.toMatch(/^\s{4}at /m);
    expect(initResult.code).toBe(0);
    const files = (await readdir(project, { recursive: true })).map((file) => file.replaceAll("\\", "/"));
    expect(files.sort()).toEqual(
      [
        ".dockerignore",
        ".gitignore",
        "Dockerfile",
        "README.md",
        "cozy.toml",
        "package.json",
        "src",
        "src/main.ts",
        "test",
        "test/main.test.mjs",
        "tsconfig.json",
      ].sort(),
    );
    const pkg = JSON.parse(await readFile(join(project, "package.json"), "utf8"));
    expect(pkg.name).toBe("my_worker");
    expect(pkg.type).toBe("module");
    expect(pkg.dependencies["gen-worker"]).toBe(`file:${REPO_ROOT}`);
    expect(pkg.scripts.dev).toBe("cozy-worker run --local . --watch");
    expect(await readFile(join(project, "cozy.toml"), "utf8")).toMatch(/^name = "my_worker"$/m);
    for (const step of ["cd My_Worker", "npm install", "npm run dev", "npx cozy-worker invoke greet"]) {
      expect(initResult.stderr).toContain(step);
    }
    for (const file of files) {
      if (!file.includes(".")) continue;
      expect(await readFile(join(project, file), "utf8"), file).not.toMatch(/\{\{/);
    }
  });

  it("writes ^<version> of gen-worker by default", async () => {
    const plain = join(work, "plain");
    const result = await new Promise<Result>((resolve) => {
      execFile(
        process.execPath,
        [CLI, "init", plain],
        { cwd: work, env: cleanEnv({ GEN_WORKER_INIT_DEPENDENCY: "" }) },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
      );
    });
    expect(result.code, result.stderr).toBe(0);
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8"));
    const pkg = JSON.parse(await readFile(join(plain, "package.json"), "utf8"));
    expect(pkg.dependencies["gen-worker"]).toBe(`^${version}`);
    expect(await readFile(join(plain, "cozy.toml"), "utf8")).toContain(`gen_worker = "^${version}"`);
  });

  it("makes a project that discover accepts, with the greet and echo endpoints", async () => {
    const result = await cli(["discover", project], work);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const manifest = JSON.parse(result.stdout);
    expect(manifest.project_name).toBe("my-worker");
    expect(manifest.functions.map((fn: { name: string }) => fn.name).sort()).toEqual(["echo", "greet"]);
  });

  it("makes a project that run --local serves", async () => {
    const runner = await startRunner(project);
    try {
      const response = await fetch(`${runner.url}/v1/run/greet`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "world" }),
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { output: unknown }).output).toEqual({ greeting: "Hello, world!" });
    } finally {
      await runner.stop();
    }
  });

  it("makes a project whose own npm test passes (offline, against this checkout)", async () => {
    const dir = join(work, "npm-test");
    expect((await cli(["init", dir], work)).code).toBe(0);
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const install = await exec(npm, ["install", "--offline", "--no-audit", "--no-fund"], dir);
    expect(install.code, install.stderr).toBe(0);
    const test = await exec(npm, ["test"], dir);
    expect(test.code, `${test.stdout}\n${test.stderr}`).toBe(0);
    expect(test.stdout).toMatch(/# pass 3/);
    expect(test.stdout).toMatch(/# fail 0/);
  }, 90_000);

  it("has the contract's Dockerfile (gen-worker's CPU one) and a .dockerignore", async () => {
    const dockerfile = await readFile(join(project, "Dockerfile"), "utf8");
    const cpu = await readFile(join(REPO_ROOT, "templates", "dockerfiles", "cpu.Dockerfile"), "utf8");
    expect(dockerfile).toBe(cpu);
    const facts = checkDockerfile(dockerfile);
    expect(facts).toEqual({ problems: [], baseImageArg: true, depsArg: true });
    expect(dockerfile).toMatch(/^ARG BASE_IMAGE=node:\$\{NODE_VERSION\}-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^USER \S+/m);
    // dependency layers come before the source
    expect(dockerfile.indexOf("COPY --from=deps")).toBeLessThan(dockerfile.indexOf("COPY . ."));
    const ignore = (await readFile(join(project, ".dockerignore"), "utf8")).split("\n");
    expect(ignore).toEqual(expect.arrayContaining(["node_modules", ".cozy", "outputs"]));

    const gpu = await readFile(join(REPO_ROOT, "templates", "dockerfiles", "gpu.Dockerfile"), "utf8");
    expect(checkDockerfile(gpu)).toEqual({ problems: [], baseImageArg: true, depsArg: true });
    expect(gpu).toMatch(/^ARG BASE_IMAGE=nvidia\/cuda:12\.\S+-cudnn-runtime-\S+$/m);
    expect(gpu).toMatch(/^COPY --from=node \/usr\/local\/bin\/node /m);
    expect(gpu.indexOf("COPY --from=deps")).toBeLessThan(gpu.indexOf("COPY . ."));
  });

  it("refuses a folder that is not empty, names what is there, and touches nothing", async () => {
    const dir = join(work, "taken");
    await mkdir(join(dir, "sub"), { recursive: true });
    await writeFile(join(dir, "package.json"), "mine\n");
    const result = await cli(["init", "taken"], work);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^error: taken\/ is not empty \(it holds package\.json, sub\/\)/);
    expect(result.stderr).toContain("never overwrites");
    expect(result.stderr).not.toMatch(/^\s{4}at /m);
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(["package.json", "sub"]);
    expect(await readFile(join(dir, "package.json"), "utf8")).toBe("mine\n");
  });

  it("refuses a path that is a file", async () => {
    await writeFile(join(work, "a-file"), "x");
    const result = await cli(["init", "a-file"], work);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/a-file exists and is not a folder/);
    expect(await readFile(join(work, "a-file"), "utf8")).toBe("x");
  });

  it("rejects an unknown template with the list of templates, exit 2, and creates nothing", async () => {
    const result = await cli(["init", "nope-dir", "--template", "nope"], work);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: unknown template "nope": choose one of .*\bhello\b/m);
    expect(existsSync(join(work, "nope-dir"))).toBe(false);
  });

  it("lists the templates", async () => {
    const result = await cli(["init", "--list-templates"], work);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^hello\s+\S/m);
  });

  it("has --help with examples", async () => {
    const result = await cli(["init", "--help"], work);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Examples:");
    expect(result.stdout).toContain("cozy-worker init my-worker");
  });
});
