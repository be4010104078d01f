import { createReadStream } from "node:fs";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import dockerignore from "@balena/dockerignore";
import { pack } from "tar-stream";

/** One entry of a build context tar: a file read from disk, text made here, or a symlink. */
export type ContextEntry =
  | { name: string; type: "file"; size: number; mode: number; source: string }
  | { name: string; type: "file"; size: number; mode: number; content: Buffer }
  | { name: string; type: "symlink"; target: string };

export interface BuildContext {
  entries: ContextEntry[];
  /** The size of the tar stream, in bytes. */
  bytes: number;
}

/** The size above which `build` warns: a context this big is usually a folder .dockerignore misses. */
export const LARGE_CONTEXT_BYTES = 100 * 1000 * 1000;

/**
 * The files of `dir` that `docker build` would send: everything not excluded by `.dockerignore`
 * (Docker's own matching rules), plus `Dockerfile` and `.dockerignore` themselves, which the
 * Docker CLI always sends. `extra` entries (made by the build, such as the handler bundle) are
 * added whatever `.dockerignore` says.
 */
export async function collectContext(dir: string, extra: ContextEntry[] = []): Promise<BuildContext> {
  const patterns = await readDockerignore(dir);
  const rules = dockerignore.default().add(patterns);
  // Without `!` exceptions an ignored folder can be skipped whole; with them, its files are checked.
  const hasExceptions = patterns.some((pattern) => pattern.startsWith("!"));
  const alwaysSent = new Set(["Dockerfile", ".dockerignore"]);
  const entries: ContextEntry[] = [];
  const extraNames = new Set(extra.map((entry) => entry.name));

  const walk = async (relDir: string) => {
    const names = (await readdir(join(dir, relDir))).sort();
    for (const name of names) {
      const rel = relDir ? `${relDir}/${name}` : name;
      const path = join(dir, rel);
      const info = await lstat(path);
      const ignored = rules.ignores(rel) && !alwaysSent.has(rel);
      if (info.isDirectory()) {
        if (!ignored || hasExceptions) await walk(rel);
        continue;
      }
      if (ignored || extraNames.has(rel)) continue;
      if (info.isFile()) {
        entries.push({ name: rel, type: "file", size: info.size, mode: fileMode(info.mode), source: path });
      } else if (info.isSymbolicLink()) {
        entries.push({ name: rel, type: "symlink", target: await readlink(path) });
      }
    }
  };
  await walk("");
  entries.push(...extra);
  return { entries, bytes: tarSize(entries) };
}

/** A file made by the build for the context. */
export function textEntry(name: string, text: string | Buffer, mode = 0o644): ContextEntry {
  const content = typeof text === "string" ? Buffer.from(text) : text;
  return { name, type: "file", size: content.length, mode, content };
}

/** Files keep only whether they are executable: the image's files are root's, readable by all. */
export function fileMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644;
}

async function readDockerignore(dir: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(join(dir, ".dockerignore"), "utf8");
  } catch {
    return [];
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

/** 512-byte headers (plus a pax header for a name ustar cannot hold), data padded to 512, 1 KiB trailer. */
function tarSize(entries: ContextEntry[]): number {
  let bytes = 1024;
  for (const entry of entries) {
    bytes += fitsUstar(entry.name) ? 512 : 1536;
    if (entry.type === "file") bytes += Math.ceil(entry.size / 512) * 512;
  }
  return bytes;
}

/** A name of at most 100 bytes, or one that splits at a `/` into a 155-byte prefix and a 100-byte rest. */
function fitsUstar(name: string): boolean {
  if (Buffer.byteLength(name) <= 100) return true;
  for (let i = name.indexOf("/"); i !== -1; i = name.indexOf("/", i + 1)) {
    if (Buffer.byteLength(name.slice(0, i)) <= 155 && Buffer.byteLength(name.slice(i + 1)) <= 100)
      return true;
  }
  return false;
}

/** Streams entries as a tar (owned by root, mtime 0: the bytes depend on content only), one file at a time. */
export function packEntries(entries: ContextEntry[]): Readable {
  const tar = pack();
  const write = async () => {
    for (const entry of entries) {
      const common = { name: entry.name, uid: 0, gid: 0, mtime: new Date(0) };
      if (entry.type === "symlink") {
        tar.entry({ ...common, type: "symlink", linkname: entry.target });
      } else if ("content" in entry) {
        tar.entry({ ...common, mode: entry.mode, size: entry.size }, entry.content);
      } else {
        await new Promise<void>((done, fail) => {
          const sink = tar.entry({ ...common, mode: entry.mode, size: entry.size }, (error) =>
            error ? fail(error) : done(),
          );
          createReadStream(entry.source).on("error", fail).pipe(sink);
        });
      }
    }
    tar.finalize();
  };
  write().catch((error: Error) => tar.destroy(error));
  return Readable.from(tar);
}
