/**
 * `cozy-worker init` end to end, on the built CLI (bin/cozy-worker.js → dist/): the project it
 * makes carries gen-worker packed into vendor/ (or the registry range with --registry, or what
 * GEN_WORKER_INIT_DEPENDENCY says), passes discover, serves under `run --local`, and installs,
 * passes its own `npm test` and type-checks. scripts/day-one.sh goes further (a global install,
 * an image build).
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
    if (!key.toLowerCase().startsWith("npm_") && key !== "GEN_WORKER_INIT_DEPENDENCY") env[key] = value;
  }
  return { ...env, NO_COLOR: "1", ...extra };
}

function exec(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeout = 60_000) {
  return new Promise<Result>((resolve) => {
    execFile(file, args, { cwd, env: cleanEnv(env), timeout }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const cli = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  exec(process.execPath, [CLI, ...args], cwd, env);
const npm = (args: string[], cwd: string, timeout = 60_000) =>
  exec(process.platform === "win32" ? "npm.cmd" : "npm", args, cwd, {}, timeout);
const readJson = async (file: string) => JSON.parse(await readFile(file, "utf8"));

const { version } = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as {
  version: string;
};
const TARBALL = `vendor/gen-worker-${version}.tgz`;

let work: string;
let project: string;
let initResult: Result;

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, "dist", "cli", "main.js"))) {
    throw new Error("dist/ is missing: run `npm run build` (npm test does)");
  }
  work = await mkdtemp(join(tmpdir(), "cozy-init-test-"));
  project = join(work, "My_Worker");
  initResult = await cli(["init", "My_Worker"], work);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("cozy-worker init", () => {
  it("scaffolds the hello template with gen-worker packed into vendor/ and prints the next steps", async () => {
    expect(initResult.stderr).not.toMatch(/^\s{4}at /m);
    expect(initResult.code, initResult.stderr).toBe(0);
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
        "vendor",
        TARBALL,
      ].sort(),
    );
    const pkg = await readJson(join(project, "package.json"));
    expect(pkg.name).toBe("my_worker");
    expect(pkg.type).toBe("module");
    expect(pkg.dependencies["gen-worker"]).toBe(`file:${TARBALL}`);
    expect(pkg.scripts.dev).toBe("cozy-worker run --local . --watch");
    expect(pkg.scripts.typecheck).toBe("tsc --noEmit -p tsconfig.json");
    expect(pkg.devDependencies.typescript).toMatch(/^\^5\./);
    expect(pkg.allowScripts).toEqual({
      esbuild: true,
      "onnxruntime-node": false,
      protobufjs: false,
      ssh2: false,
      "cpu-features": false,
    });
    expect(await readFile(join(project, "cozy.toml"), "utf8")).toMatch(/^name = "my_worker"$/m);
    for (const step of [
      "cd My_Worker",
      "npm install",
      "npm run dev",
      "npx cozy-worker invoke greet",
      "npm run typecheck",
    ]) {
      expect(initResult.stderr).toContain(step);
    }
    expect(initResult.stderr).toContain(`npm install gen-worker@^${version}`);
    const readme = await readFile(join(project, "README.md"), "utf8");
    expect(readme).toContain(`comes from \`${TARBALL}\``);
    expect(readme).toContain(`npm install gen-worker@^${version}`);
    for (const file of files) {
      if (!file.includes(".") || file.endsWith(".tgz")) continue;
      const text = await readFile(join(project, file), "utf8");
      expect(text, file).not.toMatch(/\{\{/);
      // nothing that would tie the project to this machine
      expect(text, file).not.toContain(work);
      expect(text, file).not.toContain(REPO_ROOT);
    }
  });

  it("packs the running gen-worker as npm publishes it", async () => {
    const listing = await exec("tar", ["-tzf", join(project, TARBALL)], work);
    expect(listing.code, listing.stderr).toBe(0);
    const entries = listing.stdout.split("\n");
    for (const entry of [
      "package/package.json",
      "package/bin/cozy-worker.js",
      "package/dist/index.js",
      "package/dist/index.d.ts",
      "package/templates/hello/cozy.toml",
      "package/proto/worker_scheduler.proto",
    ]) {
      expect(entries).toContain(entry);
    }
    expect(entries.some((entry) => entry.includes("node_modules/"))).toBe(false);
  });

  it("writes ^<version> with --registry, even over GEN_WORKER_INIT_DEPENDENCY, and packs nothing", async () => {
    const dir = join(work, "registry");
    const result = await cli(["init", dir, "--registry"], work, {
      GEN_WORKER_INIT_DEPENDENCY: "file:/elsewhere",
    });
    expect(result.code, result.stderr).toBe(0);
    const pkg = await readJson(join(dir, "package.json"));
    expect(pkg.dependencies["gen-worker"]).toBe(`^${version}`);
    expect(await readFile(join(dir, "cozy.toml"), "utf8")).toContain(`gen_worker = "^${version}"`);
    expect(existsSync(join(dir, "vendor"))).toBe(false);
    expect(await readFile(join(dir, "README.md"), "utf8")).toContain(
      "gen-worker comes from the npm registry",
    );
  });

  it("writes GEN_WORKER_INIT_DEPENDENCY as it is", async () => {
    const dir = join(work, "given");
    const result = await cli(["init", dir], work, { GEN_WORKER_INIT_DEPENDENCY: `file:${REPO_ROOT}` });
    expect(result.code, result.stderr).toBe(0);
    expect((await readJson(join(dir, "package.json"))).dependencies["gen-worker"]).toBe(`file:${REPO_ROOT}`);
    expect(existsSync(join(dir, "vendor"))).toBe(false);
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

  it("makes a project that installs from vendor/, passes its own npm test and type-checks", async () => {
    const dir = join(work, "npm-test");
    expect((await cli(["init", dir], work)).code).toBe(0);
    const install = await npm(["install", "--prefer-offline", "--no-audit", "--no-fund"], dir, 150_000);
    expect(install.code, install.stderr).toBe(0);
    const lock = await readJson(join(dir, "package-lock.json"));
    expect(lock.packages["node_modules/gen-worker"]).toMatchObject({ version, resolved: `file:${TARBALL}` });
    const test = await npm(["test"], dir);
    expect(test.code, `${test.stdout}\n${test.stderr}`).toBe(0);
    expect(test.stdout).toMatch(/# pass 4/);
    expect(test.stdout).toMatch(/# fail 0/);
    const typecheck = await npm(["run", "typecheck"], dir);
    expect(typecheck.code, `${typecheck.stdout}\n${typecheck.stderr}`).toBe(0);
  }, 240_000);

  it("has the contract's Dockerfile (gen-worker's CPU one), a .dockerignore and a .gitignore", async () => {
    const dockerfile = await readFile(join(project, "Dockerfile"), "utf8");
    const cpu = await readFile(join(REPO_ROOT, "templates", "dockerfiles", "cpu.Dockerfile"), "utf8");
    expect(dockerfile).toBe(cpu);
    const facts = checkDockerfile(dockerfile);
    expect(facts).toEqual({ problems: [], baseImageArg: true, depsArg: true });
    expect(dockerfile).toMatch(/^ARG BASE_IMAGE=node:\$\{NODE_VERSION\}-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^USER \S+/m);
    // dependency layers come before the source
    expect(dockerfile.indexOf("COPY --from=deps")).toBeLessThan(dockerfile.indexOf("COPY . ."));
    const dockerignore = (await readFile(join(project, ".dockerignore"), "utf8")).split("\n");
    expect(dockerignore).toEqual(expect.arrayContaining(["node_modules", ".cozy", "outputs", "vendor"]));
    const gitignore = (await readFile(join(project, ".gitignore"), "utf8")).split("\n");
    expect(gitignore).toEqual(expect.arrayContaining(["node_modules/", ".cozy/", "outputs/"]));
    expect(gitignore.some((line) => line.startsWith("vendor"))).toBe(false);

    const gpu = await readFile(join(REPO_ROOT, "templates", "dockerfiles", "gpu.Dockerfile"), "utf8");
    expect(checkDockerfile(gpu)).toEqual({ problems: [], baseImageArg: true, depsArg: true });
    expect(gpu).toMatch(/^ARG BASE_IMAGE=nvidia\/cuda:12\.\S+-cudnn-runtime-\S+$/m);
    expect(gpu).toMatch(/^COPY --from=node \/usr\/local\/bin\/node /m);
    expect(gpu.indexOf("COPY --from=deps")).toBeLessThan(gpu.indexOf("COPY . ."));
    expect(gpu).toContain(
      "ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js",
    );
  });

  it("refuses a folder that is not empty, says what to do instead, exit 2, and touches nothing", async () => {
    const dir = join(work, "taken");
    await mkdir(join(dir, "sub"), { recursive: true });
    await writeFile(join(dir, "package.json"), "mine\n");
    const result = await cli(["init", "taken"], work);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^error: taken\/ is not empty \(it holds package\.json, sub\/\)/);
    expect(result.stderr).toContain("never overwrites");
    expect(result.stderr).toContain("`cozy-worker init taken-2`");
    expect(result.stderr).toContain("or run it in an empty folder");
    expect(result.stderr).not.toMatch(/^\s{4}at /m);
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(["package.json", "sub"]);
    expect(await readFile(join(dir, "package.json"), "utf8")).toBe("mine\n");
  });

  it("refuses the current folder when it is not empty, suggesting a new one", async () => {
    const dir = join(work, "here");
    await mkdir(dir);
    await writeFile(join(dir, "notes.txt"), "x");
    const result = await cli(["init"], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: this folder is not empty \(it holds notes\.txt\)/);
    expect(result.stderr).toContain("`cozy-worker init my-worker`");
    expect(await readdir(dir)).toEqual(["notes.txt"]);
  });

  it("refuses a path that is a file, exit 2", async () => {
    await writeFile(join(work, "a-file"), "x");
    const result = await cli(["init", "a-file"], work);
    expect(result.code).toBe(2);
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
    expect(result.stdout).toContain("--registry");
  });
});
