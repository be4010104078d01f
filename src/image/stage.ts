import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { PACKAGE_ROOT } from "../host/package.js";
import { findPackage } from "../util/find-package.js";
import { fileMode } from "./context.js";
import { BuildError } from "./errors.js";

/** gen-worker dependencies that only the host uses (bundling, talking to Docker, testing, writing clients). */
const HOST_ONLY = new Set([
  "esbuild",
  "dockerode",
  "tar-stream",
  "@balena/dockerignore",
  // cozy-worker test and cozy-worker client run on the host
  "fast-check",
  "json-schema-to-typescript",
]);

/** gen-worker's own files in the image: what serve, run and discover load. */
const OWN_FILES = ["package.json", "bin", "dist", "proto"];

/**
 * Native files a package ships for every platform, and the part the image keeps. onnxruntime-node
 * carries about 280 MB for all platforms; a linux/x64 image needs its 44 MB folder.
 */
const PLATFORM_FILES: Record<string, { under: string; keep: string }> = {
  "onnxruntime-node": { under: "bin/", keep: "bin/napi-v6/linux/x64/" },
};

/** One file of the staged install: where it goes (under `node_modules/`) and where it is read from. */
export interface StagedFile {
  path: string;
  source: string;
  size: number;
  mode: number;
  mtimeMs: number;
}

export interface StagedLink {
  path: string;
  target: string;
}

export interface Stage {
  files: StagedFile[];
  /** `node_modules/.bin/*` links, as npm makes them for the top-level packages. */
  links: StagedLink[];
  /** Changes when any staged file changes (path, size, mtime, mode), so it names the deps image. */
  hash: string;
  bytes: number;
}

interface PackageJson {
  name?: string;
  version?: string;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface Placed {
  /** Where the package lies in the image, relative to the image's /app: `node_modules/a/node_modules/b`. */
  at: string;
  realDir: string;
  json: PackageJson;
}

/**
 * The production install the image gets, computed on the host: the project's `dependencies`
 * and gen-worker's own, each resolved the way Node resolves them from the package that needs
 * it, laid out as npm would (hoisted to the top `node_modules`, nested only where two versions
 * of one package are needed). Nothing is downloaded; every package must already be installed.
 */
export async function stageDependencies(projectDir: string): Promise<Stage> {
  const ownRoot = await realpath(PACKAGE_ROOT);
  const project = await readPackageJson(join(projectDir, "package.json"));
  const placed = new Map<string, Placed>();
  const queue: Placed[] = [];
  const root: Placed = { at: "", realDir: await realpath(projectDir), json: project };

  const place = async (parent: Placed, name: string, optional: boolean) => {
    const realDir = name === "gen-worker" && parent === root ? ownRoot : findPackage(name, parent.realDir);
    if (!realDir) {
      if (optional) return;
      throw new BuildError(
        parent === root
          ? `${name}, a dependency in package.json, is not installed: run npm install (or npm ci) first`
          : `${name}, needed by ${parent.json.name ?? parent.realDir}, is not installed: run npm install (or npm ci) first`,
      );
    }
    const resolved = resolveInImage(placed, parent.at, name);
    if (resolved?.realDir === realDir) return;
    const at = resolved ? `${parent.at ? `${parent.at}/` : ""}node_modules/${name}` : `node_modules/${name}`;
    const entry: Placed = { at, realDir, json: await readPackageJson(join(realDir, "package.json")) };
    placed.set(at, entry);
    queue.push(entry);
  };

  const direct = { ...project.dependencies, ...project.optionalDependencies };
  for (const name of Object.keys(direct).sort()) {
    await place(root, name, name in (project.optionalDependencies ?? {}));
  }
  while (queue.length > 0) {
    const parent = queue.shift() as Placed;
    const own = parent.realDir === ownRoot;
    const deps = [
      ...Object.keys(parent.json.dependencies ?? {}).map((name) => [name, false] as const),
      ...Object.keys(parent.json.optionalDependencies ?? {}).map((name) => [name, true] as const),
      ...Object.keys(parent.json.peerDependencies ?? {}).map((name) => [name, true] as const),
    ];
    for (const [name, optional] of deps.sort(([a], [b]) => a.localeCompare(b))) {
      if (own && HOST_ONLY.has(name)) continue;
      await place(parent, name, optional);
    }
  }

  const files: StagedFile[] = [];
  for (const entry of [...placed.values()].sort((a, b) => a.at.localeCompare(b.at))) {
    const own = entry.realDir === ownRoot;
    if (own && !existsSync(join(entry.realDir, "dist", "index.js"))) {
      throw new BuildError(`gen-worker at ${entry.realDir} is not built: run npm run build there`);
    }
    const tops = own ? OWN_FILES : undefined;
    const platform = entry.json.name ? PLATFORM_FILES[entry.json.name] : undefined;
    for (const file of await packageFiles(entry.realDir, tops)) {
      const rel = relative(entry.realDir, file.source).split(sep).join("/");
      if (platform && rel.startsWith(platform.under) && !rel.startsWith(platform.keep)) continue;
      files.push({ ...file, path: `${entry.at}/${rel}` });
    }
  }
  const links = binLinks([...placed.values()].filter((entry) => !entry.at.includes("/node_modules/")));
  const hash = createHash("sha256");
  let bytes = 0;
  for (const file of files) {
    hash.update(`${file.path}\0${file.size}\0${file.mtimeMs}\0${file.mode}\n`);
    bytes += file.size;
  }
  for (const link of links) hash.update(`${link.path}\0${link.target}\n`);
  return { files, links, hash: hash.digest("hex"), bytes };
}

/** What `name` resolves to from image folder `at` with the packages placed so far. */
function resolveInImage(placed: Map<string, Placed>, at: string, name: string): Placed | undefined {
  let dir = at;
  for (;;) {
    const found = placed.get(`${dir ? `${dir}/` : ""}node_modules/${name}`);
    if (found) return found;
    if (dir === "") return undefined;
    const cut = dir.lastIndexOf("/node_modules/");
    dir = cut === -1 ? "" : dir.slice(0, cut);
  }
}

async function readPackageJson(path: string): Promise<PackageJson> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as PackageJson;
  } catch (error) {
    throw new BuildError(`cannot read ${path} (${(error as Error).message}): fix or reinstall it`);
  }
}

/** A package's files, without its own node_modules (its dependencies are placed separately). */
async function packageFiles(dir: string, tops?: string[]): Promise<Array<Omit<StagedFile, "path">>> {
  const files: Array<Omit<StagedFile, "path">> = [];
  const walk = async (current: string, top: boolean) => {
    const entries = await readdir(current, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (top && (entry.name === "node_modules" || (tops && !tops.includes(entry.name)))) continue;
      const path = join(current, entry.name);
      const info = await stat(path).catch(() => undefined);
      if (!info) continue;
      if (info.isDirectory()) await walk(path, false);
      else if (info.isFile()) {
        files.push({ source: path, size: info.size, mode: fileMode(info.mode), mtimeMs: info.mtimeMs });
      }
    }
  };
  await walk(dir, true);
  return files;
}

function binLinks(packages: Placed[]): StagedLink[] {
  const links: StagedLink[] = [];
  for (const entry of packages) {
    const { bin, name } = entry.json;
    if (!bin || !name) continue;
    const bins = typeof bin === "string" ? { [name.replace(/^@[^/]+\//, "")]: bin } : bin;
    for (const [command, target] of Object.entries(bins)) {
      links.push({
        path: `node_modules/.bin/${command}`,
        target: `../${name}/${target.replace(/^\.\//, "")}`,
      });
    }
  }
  return links.sort((a, b) => a.path.localeCompare(b.path));
}
