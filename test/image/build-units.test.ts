/** The parts of `cozy-worker build` that need no Docker engine: Dockerfile checks, context, progress. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buffer } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../../src/contract/manifest.js";
import { collectContext, packEntries, textEntry } from "../../src/image/context.js";
import {
  BAKE_LINE,
  checkDockerfile,
  ENTRYPOINT_LINE,
  parseDockerfile,
  runnerProgram,
} from "../../src/image/dockerfile.js";
import { manifestDifferences } from "../../src/image/manifest-check.js";
import { BuildProgress, type Step } from "../../src/image/progress.js";
import { PushProgress, splitTag } from "../../src/image/push.js";
import { stageDependencies } from "../../src/image/stage.js";
import { formatBytes } from "../../src/util/format-bytes.js";
import { REPO_ROOT } from "../support/runner-process.js";

const GOOD = `ARG BASE_IMAGE=node:22-bookworm-slim
ARG GEN_WORKER_DEPS
FROM \${GEN_WORKER_DEPS} AS deps
FROM \${BASE_IMAGE}
COPY --from=deps /node_modules/ ./node_modules/
COPY . .
${BAKE_LINE}
ENTRYPOINT ["cozy-worker", "serve"]
`;

describe("Dockerfile checks", () => {
  it("accepts the contract and reports the build args it takes", () => {
    expect(checkDockerfile(GOOD)).toEqual({ problems: [], baseImageArg: true, depsArg: true });
  });

  it("quotes the bake line when it is missing", () => {
    const { problems } = checkDockerfile(GOOD.replace(BAKE_LINE, "RUN echo no bake"));
    expect(problems).toEqual([expect.stringContaining(`does not bake the manifest`)]);
    expect(problems[0]).toContain(BAKE_LINE);
  });

  it("quotes the ENTRYPOINT when it is missing, in shell form, or runs something else", () => {
    expect(checkDockerfile(GOOD.replace(/^ENTRYPOINT.*$/m, "")).problems[0]).toContain(ENTRYPOINT_LINE);
    const shell = checkDockerfile(GOOD.replace(/^ENTRYPOINT.*$/m, "ENTRYPOINT cozy-worker serve"));
    expect(shell.problems[0]).toMatch(/^Dockerfile:8: the ENTRYPOINT must run the worker in exec form/);
    const other = checkDockerfile(GOOD.replace(/^ENTRYPOINT.*$/m, 'ENTRYPOINT ["node", "server.js"]'));
    expect(other.problems[0]).toContain(ENTRYPOINT_LINE);
    const direct = GOOD.replace(
      /^ENTRYPOINT.*$/m,
      'ENTRYPOINT ["node", "/app/node_modules/gen-worker/bin/cozy-worker.js", "serve"]',
    );
    expect(checkDockerfile(direct).problems).toEqual([]);
  });

  it("joins continuation lines, skips comments inside them, honours # escape=", () => {
    const text =
      "FROM x\nRUN mkdir -p /app/.cozy \\\n  # a comment\n  && cozy-worker discover \\\n  > /app/.cozy/manifest.json\n";
    expect(parseDockerfile(text)).toEqual([
      { keyword: "FROM", args: "x", line: 1 },
      {
        keyword: "RUN",
        args: "mkdir -p /app/.cozy  && cozy-worker discover  > /app/.cozy/manifest.json",
        line: 2,
      },
    ]);
    const backtick = "# escape=`\nFROM x\nRUN a `\n  b\n";
    expect(parseDockerfile(backtick).at(-1)).toEqual({ keyword: "RUN", args: "a  b", line: 3 });
  });

  it("needs ARG BASE_IMAGE before FROM for --base-image", () => {
    expect(checkDockerfile(GOOD.replace("ARG BASE_IMAGE=node:22-bookworm-slim\n", "")).baseImageArg).toBe(
      false,
    );
    expect(checkDockerfile(GOOD.replaceAll(/\$\{BASE_IMAGE\}/g, "node:22")).baseImageArg).toBe(false);
    expect(checkDockerfile("FROM node:22\n").problems).toHaveLength(2);
  });

  it("finds the program of an image's ENTRYPOINT for run --image", () => {
    expect(runnerProgram(["cozy-worker", "serve"])).toEqual(["cozy-worker"]);
    expect(runnerProgram(["node", "/x/bin/cozy-worker.js", "serve", "/app"])).toEqual([
      "node",
      "/x/bin/cozy-worker.js",
    ]);
    expect(runnerProgram(["python", "-m", "gen_worker.entrypoint"])).toBeUndefined();
  });
});

describe("build context", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cozy-context-"));
    for (const file of [
      "src/main.ts",
      "node_modules/a/index.js",
      "outputs/x.txt",
      "keep/a.log",
      "b.log",
      "docs/keep.md",
      "docs/drop.md",
    ]) {
      await mkdir(join(dir, file, ".."), { recursive: true });
      await writeFile(join(dir, file), `${file}\n`);
    }
    await writeFile(join(dir, "Dockerfile"), GOOD);
    await writeFile(
      join(dir, ".dockerignore"),
      "# comment\nnode_modules\noutputs\n*.log\nDockerfile\n.dockerignore\ndocs\n!docs/keep.md\n",
    );
    await symlink("src/main.ts", join(dir, "link.ts"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("honours .dockerignore with Docker's rules and always sends the Dockerfile and .dockerignore", async () => {
    const context = await collectContext(dir, [textEntry(".cozy/bundle/main.mjs", "export {};\n")]);
    expect(context.entries.map((entry) => entry.name)).toEqual([
      ".dockerignore",
      "Dockerfile",
      "docs/keep.md",
      "keep/a.log", // `*.log` matches at the top only, as in Docker
      "link.ts",
      "src/main.ts",
      ".cozy/bundle/main.mjs",
    ]);
    expect(context.entries.find((entry) => entry.name === "link.ts")).toMatchObject({
      type: "symlink",
      target: "src/main.ts",
    });
  });

  it("computes the tar's size exactly", async () => {
    const prefixed = textEntry(`${"d/".repeat(60)}file.txt`, "x".repeat(700), 0o755);
    const pax = textEntry(`${"d".repeat(120)}/${"f".repeat(120)}`, "y");
    const context = await collectContext(dir, [prefixed, pax]);
    const bytes = await buffer(packEntries(context.entries));
    expect(bytes.length).toBe(context.bytes);
  });
});

describe("build progress", () => {
  it("follows steps across split chunks and keeps the failing step's last lines", () => {
    const steps: Step[] = [];
    const progress = new BuildProgress(
      (step) => steps.push(step),
      () => 1000,
    );
    progress.handle({ stream: "Step 1/3 : FROM local/node-base:20\n" });
    progress.handle({ stream: ' ---> 617e6448015e\nStep 2/3 : RUN node -e "process.exit(7)"\n' });
    progress.handle({ stream: " ---> Running in 1f2e3d\n" });
    progress.handle({ stream: "about to " });
    progress.handle({ stream: "fail\n\u001b[91msecond line\n" });
    progress.handle({ stream: "\u001b[0mRemoving intermediate container 1f2e3d\n" });
    progress.handle({
      error: "The command '/bin/sh -c node -e \"process.exit(7)\"' returned a non-zero code: 7",
      errorDetail: {
        code: 7,
        message: "The command '/bin/sh -c node -e \"process.exit(7)\"' returned a non-zero code: 7",
      },
    });
    expect(steps.map((step) => [step.number, step.total, step.instruction])).toEqual([
      [1, 3, "FROM local/node-base:20"],
      [2, 3, 'RUN node -e "process.exit(7)"'],
    ]);
    expect(progress.failure).toEqual({
      step: expect.objectContaining({ number: 2 }),
      message: expect.stringContaining("returned a non-zero code: 7"),
      lines: ["about to fail", "second line"],
    });
  });

  it("takes the image id from the aux event", () => {
    const progress = new BuildProgress();
    progress.handle({ aux: { ID: "sha256:abc" } });
    progress.handle({ stream: "Successfully built abc\n" });
    expect(progress.imageId).toBe("sha256:abc");
    expect(progress.failure).toBeUndefined();
  });

  it("sums push progress per layer", () => {
    const push = new PushProgress();
    push.handle({ status: "Preparing", id: "a" });
    push.handle({ status: "Preparing", id: "b" });
    push.handle({ status: "Pushing", id: "a", progressDetail: { current: 1500, total: 3000 } });
    push.handle({ status: "Layer already exists", id: "b" });
    expect(push.summary()).toBe("1/2 layers, 1.50 kB sent");
    push.handle({ status: "", aux: { Digest: "sha256:d" } });
    expect(push.digest).toBe("sha256:d");
  });

  it("formats sizes and splits tags", () => {
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(81_234_567)).toBe("81.2 MB");
    expect(splitTag("127.0.0.1:5000/team/app:1")).toEqual({
      repository: "127.0.0.1:5000/team/app",
      tag: "1",
    });
    expect(splitTag("127.0.0.1:5000/app")).toEqual({ repository: "127.0.0.1:5000/app", tag: "latest" });
  });
});

describe("baked manifest check", () => {
  const manifest = {
    project_name: "p",
    functions: [
      { name: "a", x: 1 },
      { name: "b", x: 1 },
    ],
    runtime: { gen_worker: "0.1.0" },
  } as unknown as Manifest;

  it("names the functions and keys that differ", () => {
    expect(manifestDifferences(manifest, JSON.parse(JSON.stringify(manifest)))).toEqual([]);
    const image = {
      project_name: "q",
      functions: [{ name: "a", x: 2 }, { name: "c" }],
      runtime: { gen_worker: "0.1.0" },
    };
    expect(manifestDifferences(manifest, image)).toEqual([
      "function a: differs",
      "function b: on the host, not in the image",
      "function c: in the image, not on the host",
      "project_name: differs",
    ]);
  });
});

describe("staged dependencies", () => {
  it("leave out what only the host runs (bundler, Docker client, fuzzer, client generator) and keep the runtime", async () => {
    const stage = await stageDependencies(join(REPO_ROOT, "examples/hello"));
    const packages = new Set(
      stage.files.map((file) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file.path)?.[1]).filter(Boolean),
    );
    for (const hostOnly of ["esbuild", "dockerode", "fast-check", "pure-rand", "json-schema-to-typescript"]) {
      expect(packages.has(hostOnly), hostOnly).toBe(false);
    }
    for (const runtime of ["@grpc/grpc-js", "ajv", "onnxruntime-node", "ts-morph"]) {
      expect(packages.has(runtime), runtime).toBe(true);
    }
  });
});
