import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Manifest } from "../contract/manifest.js";
import { UserError } from "../contract/user-errors.js";

export interface ManifestSource {
  manifest: Manifest;
  /** Where it came from, for reports: `hello.json (manifest file)`, `hello:1 (image)`. */
  label: string;
}

/**
 * A manifest named on the command line, tried in this order: a manifest file (`cozy-worker
 * discover`'s output), a project folder (discovered here), an image tag the Docker engine knows
 * (the manifest baked into it). `role` names the argument in messages (`OLD`, `--compat-with`).
 * An argument that is none of the three is a usage error (exit 2) saying what was tried.
 */
export async function loadManifest(spec: string, role: string, dockerHost?: string): Promise<ManifestSource> {
  const path = resolve(spec);
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) {
    const source = `${role} ${spec}`;
    let value: unknown;
    try {
      value = JSON.parse(await readFile(path, "utf8"));
    } catch (error) {
      throw notAManifest(source, `it is not JSON (${(error as Error).message})`);
    }
    return { manifest: checkManifest(value, source), label: `${spec} (manifest file)` };
  }
  if (info?.isDirectory()) {
    const { discover } = await import("../discovery/discover.js");
    return { manifest: (await discover(path)).manifest, label: `${spec} (project folder)` };
  }
  // Docker's client loads slowly: only for an image.
  const { imageManifest } = await import("./image-manifest.js");
  const baked = await imageManifest(spec, role, path, dockerHost);
  const source = `${role} ${spec}: the image's /app/.cozy/manifest.json`;
  return { manifest: checkManifest(baked, source), label: `${spec} (image)` };
}

/** The parts of a manifest the diff reads, checked; anything else is left as it is. */
function checkManifest(value: unknown, source: string): Manifest {
  const functions = (value as { functions?: unknown } | null)?.functions;
  if (value === null || typeof value !== "object" || !Array.isArray(functions))
    throw notAManifest(source, 'it has no "functions" list');
  for (const [index, fn] of functions.entries()) {
    const entry = (fn ?? {}) as Record<string, unknown>;
    const missing = ["name", "endpoint_name"].filter((key) => typeof entry[key] !== "string");
    missing.push(...["input_schema", "output_schema"].filter((key) => !isObject(entry[key])));
    if (missing.length > 0) throw notAManifest(source, `functions[${index}] has no ${missing.join(", ")}`);
  }
  return value as Manifest;
}

function notAManifest(source: string, why: string): UserError {
  return new UserError(
    `${source} is not a manifest: ${why}; give the JSON that cozy-worker discover prints (discover -o FILE)`,
    { exitCode: 2 },
  );
}

function isObject(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
