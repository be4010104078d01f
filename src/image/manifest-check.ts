import type Docker from "dockerode";
import { extract } from "tar-stream";
import type { Manifest } from "../contract/manifest.js";
import { canonicalJson } from "../util/canonical-json.js";
import { isStatus } from "./engine.js";
import { BuildError } from "./errors.js";

const BAKED_MANIFEST = "/app/.cozy/manifest.json";

/** Reads the manifest baked into an image (from a container created, never started, then removed). */
export async function readBakedManifest(docker: Docker, image: string): Promise<unknown> {
  const container = await docker.createContainer({ Image: image });
  try {
    let archive: NodeJS.ReadableStream;
    try {
      archive = await container.getArchive({ path: BAKED_MANIFEST });
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      throw new BuildError(
        `the image has no ${BAKED_MANIFEST}: its Dockerfile must bake it where the platform reads it`,
      );
    }
    const text = await firstFileOf(archive);
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new BuildError(
        `the image's ${BAKED_MANIFEST} is not JSON (${(error as Error).message}): the bake step must write only cozy-worker discover's output there`,
      );
    }
  } finally {
    await container.remove({ force: true });
  }
}

function firstFileOf(archive: NodeJS.ReadableStream): Promise<string> {
  return new Promise((done, fail) => {
    const tar = extract();
    let text: string | undefined;
    tar.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk) => chunks.push(chunk as Buffer));
      stream.on("end", () => {
        if (header.type === "file" && text === undefined) text = Buffer.concat(chunks).toString("utf8");
        next();
      });
    });
    tar.on("finish", () => done(text ?? ""));
    tar.on("error", fail);
    archive.pipe(tar);
  });
}

/**
 * How the image's manifest differs from the host's: nothing when their canonical JSON is equal,
 * else the functions and top-level keys that differ.
 */
export function manifestDifferences(host: Manifest, image: unknown): string[] {
  if (canonicalJson(host) === canonicalJson(image)) return [];
  if (image === null || typeof image !== "object") return ["the image's manifest is not a JSON object"];
  const baked = image as Partial<Manifest> & Record<string, unknown>;
  const differences: string[] = [];
  const hostFunctions = new Map(host.functions.map((fn) => [fn.name, fn]));
  const imageFunctions = new Map(
    (Array.isArray(baked.functions) ? baked.functions : []).map((fn) => [fn.name, fn]),
  );
  for (const [name, fn] of hostFunctions) {
    const other = imageFunctions.get(name);
    if (!other) differences.push(`function ${name}: on the host, not in the image`);
    else if (canonicalJson(fn) !== canonicalJson(other)) differences.push(`function ${name}: differs`);
  }
  for (const name of imageFunctions.keys()) {
    if (!hostFunctions.has(name)) differences.push(`function ${name}: in the image, not on the host`);
  }
  const keys = new Set([...Object.keys(host), ...Object.keys(baked)]);
  for (const key of [...keys].sort()) {
    if (key === "functions") continue;
    const hostValue = (host as unknown as Record<string, unknown>)[key];
    if (canonicalJson(hostValue ?? null) !== canonicalJson(baked[key] ?? null))
      differences.push(`${key}: differs`);
  }
  return differences;
}
