import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Manifest } from "../../contract/manifest.js";
import { UserError } from "../../contract/user-errors.js";
import type { Logger } from "../../host/logger.js";
import { readMachineInfo } from "../../host/machine-info.js";
import { loadTenantModule } from "../../runtime/tenant-loader.js";
import type { WorkerSettings } from "../../settings/worker.js";
import { verifyWorkerJwt } from "./jwt-check.js";
import { Worker } from "./worker.js";

export interface ServeOptions {
  dir: string;
  /** Defaults to `<dir>/.cozy/manifest.json`. */
  manifestPath?: string;
  settings: WorkerSettings;
  log: Logger;
}

/** The manifest cannot be served; the message says how to bake a good one. */
export class ServeError extends UserError {}

/**
 * Everything `cozy-worker serve` does before the first connect, with settings read already: the
 * optional JWKS check of WORKER_JWT, the manifest (discovered on the spot in a
 * checkout that has none), the tenant's handlers and the machine's facts.
 */
export async function prepareWorker(options: ServeOptions): Promise<Worker> {
  const { settings } = options;
  if (settings.jwks) await verifyWorkerJwt(settings.jwt, settings.jwks);
  const dir = resolve(options.dir);
  const manifest = await loadManifest(dir, options.manifestPath, options.log);
  const handlers = await loadTenantModule(dir, resolve(dir, manifest.runtime.main));
  const machine = await readMachineInfo(settings.host);
  options.log.info(
    {
      worker: settings.workerId,
      functions: manifest.functions.map((fn) => fn.name),
      schedulers: settings.addresses.map((a) => a.target),
      gpu: machine.gpu?.name ?? null,
    },
    "worker ready",
  );
  return new Worker({ manifest, handlers, settings, machine, log: options.log });
}

async function loadManifest(dir: string, manifestPath: string | undefined, log: Logger): Promise<Manifest> {
  const path = manifestPath ? resolve(manifestPath) : join(dir, ".cozy", "manifest.json");
  if (existsSync(path)) return parseManifest(await readFile(path, "utf8"), path);
  if (!manifestPath && existsSync(join(dir, "cozy.toml"))) {
    log.info({ dir }, "no baked manifest: discovering the project");
    const { discover } = await import("../../discovery/discover.js");
    return (await discover(dir)).manifest;
  }
  throw new ServeError(
    `no manifest at ${path}: the image must bake it (RUN mkdir -p /app/.cozy && cozy-worker discover > /app/.cozy/manifest.json), or pass --manifest, or run serve in a project folder that has cozy.toml`,
  );
}

function parseManifest(text: string, path: string): Manifest {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch (error) {
    throw new ServeError(
      `${path} is not JSON (${(error as Error).message}): bake it again with cozy-worker discover`,
    );
  }
  if (!Array.isArray(manifest.functions) || typeof manifest.runtime?.main !== "string") {
    throw new ServeError(
      `${path} is not a gen-worker manifest (no functions or runtime.main): bake it again with cozy-worker discover`,
    );
  }
  if (manifest.functions.length === 0) {
    throw new ServeError(
      `${path} lists no functions: the project exports no handlers (see cozy-worker discover)`,
    );
  }
  return manifest;
}
