// Image builds of examples/hello through `cozy-worker build` (whole CLI process timed), from the
// local Node base image: a cold build (no deps image, no layer cache), a rebuild after a one-line
// change to a handler, and the image's size with the base image's share. Needs a Docker Engine:
// DOCKER_HOST, else one started with scripts/docker-up.sh (and stopped afterwards).
import { execFileSync } from "node:child_process";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "bin/cozy-worker.js");
const base = process.env.BASE_TAG ?? `local/node-base:${process.versions.node}`;
const tag = "gen-worker-bench/hello:latest";

async function engine() {
  if (
    await new Docker().ping().then(
      () => true,
      () => false,
    )
  )
    return { started: false };
  try {
    const exported = execFileSync("sh", [join(root, "scripts/docker-up.sh")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    process.env.DOCKER_HOST = /DOCKER_HOST=(\S+)/.exec(exported)?.[1];
    return { started: true };
  } catch {
    return undefined;
  }
}

function build(dir) {
  const start = process.hrtime.bigint();
  // The build's progress goes to a pipe and is dropped; a failure still throws with its output.
  const out = execFileSync(process.execPath, [cli, "build", dir, "-t", tag, "--base-image", base, "--json"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result: JSON.parse(out) };
}

/** Removes the bench image (its untagged parents, the layer cache, go with it) and the deps images. */
async function forget(docker) {
  const images = await docker.listImages();
  for (const image of images) {
    if ((image.RepoTags ?? []).some((name) => name === tag || name.startsWith("gen-worker-deps:"))) {
      await docker.getImage(image.Id).remove({ force: true });
    }
  }
}

export async function benchBuild() {
  const started = await engine();
  if (!started) return undefined;
  const docker = new Docker();
  const dir = join(root, "bench/.work/build-hello");
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(root, "examples/hello"), dir, {
    recursive: true,
    filter: (path) => !/[/\\](\.cozy|outputs|node_modules)([/\\]|$)/.test(path.slice(root.length)),
  });
  try {
    await forget(docker);
    const cold = build(dir);
    const warm = build(dir);
    const main = join(dir, "src/main.ts");
    writeFileSync(main, readFileSync(main, "utf8").replace("`Hello, ", "`Hi, "));
    const changed = build(dir);
    const { imageBytes, baseBytes } = changed.result;
    return { cold, warm, changed, imageBytes, baseBytes, base };
  } finally {
    await forget(docker);
    if (started.started) execFileSync("sh", [join(root, "scripts/docker-down.sh")]);
  }
}
