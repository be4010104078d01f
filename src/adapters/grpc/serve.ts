import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Manifest } from "../../contract/manifest.js";
import { UserError } from "../../contract/user-errors.js";
import type { Logger } from "../../host/logger.js";
import { readMachineInfo } from "../../host/machine-info.js";
import { GEN_WORKER_VERSION } from "../../host/package.js";
import { checkGenWorkerPin } from "../../project/gen-worker-pin.js";
import { loadTenantModule } from "../../runtime/tenant-loader.js";
import type { WorkerSettings } from "../../settings/worker.js";
import { verifyWorkerJwt } from "./jwt-check.js";
import { Worker } from "./worker.js";

export interface ServeOptions {
  dir: string;
  /** Defaults to `<dir>/.cozy/manifest.json`. */
  manifestPath?: string;
  /**
   * `COZY_MANIFEST_PATH`: a cozy.toml whose `gen_worker` range the installed gen-worker must satisfy
   * (exit 2 otherwise), also read instead of `<dir>/cozy.toml` when the project is discovered on the spot.
   */
  cozyTomlPath?: string;
  settings: WorkerSettings;
  log: Logger;
}

/** The manifest cannot be served; the message says how to bake a good one. */
export class ServeError extends UserError {}

/** The installed gen-worker is outside the `gen_worker` range of `COZY_MANIFEST_PATH`'s cozy.toml (exit 2). */
export class GenWorkerVersionError extends UserError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

/**
 * Everything `cozy-worker serve` does before the first connect, with settings read already: the
 * optional JWKS check of WORKER_JWT, the manifest (discovered on the spot in a
 * checkout that has none), the tenant's handlers and the machine's facts.
 */
export async function prepareWorker(options: ServeOptions): Promise<Worker> {
  const { settings, cozyTomlPath } = options;
  if (cozyTomlPath !== undefined) await checkGenWorkerVersion(cozyTomlPath, options.log);
  if (settings.jwks) await verifyWorkerJwt(settings.jwt, settings.jwks);
  const dir = resolve(options.dir);
  const manifest = await loadManifest(dir, options, options.log);
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

/**
 * The dev guard of the Python SDK's entrypoint: when `COZY_MANIFEST_PATH` names an existing cozy.toml,
 * the installed gen-worker must satisfy its `gen_worker` range, else serve exits 2 before anything
 * else; a file that cannot be read or parsed is only warned about.
 */
export async function checkGenWorkerVersion(
  cozyTomlPath: string,
  log: Pick<Logger, "warn" | "debug">,
  installed: string = GEN_WORKER_VERSION,
): Promise<void> {
  const file = resolve(cozyTomlPath);
  const check = await checkGenWorkerPin(file, installed);
  switch (check.outcome) {
    case "missing":
      log.warn(
        { cozyToml: file },
        `COZY_MANIFEST_PATH names ${file}, which does not exist: the gen_worker version check is skipped`,
      );
      return;
    case "unreadable":
      log.warn(
        { cozyToml: file, problem: check.problem },
        `COZY_MANIFEST_PATH names ${file}, which ${check.problem}: the gen_worker version check is skipped`,
      );
      return;
    case "satisfied":
      log.debug({ cozyToml: file, range: check.range, installed }, "gen-worker version check passed");
      return;
    case "mismatch":
      throw new GenWorkerVersionError(
        `${file} (COZY_MANIFEST_PATH) requires gen_worker "${check.range}", but the installed gen-worker is ${installed}: ` +
          `install a matching version (npm install 'gen-worker@${check.npmRange}') and rebuild the image, ` +
          `or widen gen_worker in that cozy.toml to include ${installed}`,
      );
  }
}

async function loadManifest(dir: string, options: ServeOptions, log: Logger): Promise<Manifest> {
  const { manifestPath, cozyTomlPath } = options;
  const path = manifestPath ? resolve(manifestPath) : join(dir, ".cozy", "manifest.json");
  if (existsSync(path)) return parseManifest(await readFile(path, "utf8"), path);
  const cozyToml = cozyTomlPath === undefined ? join(dir, "cozy.toml") : resolve(cozyTomlPath);
  if (!manifestPath && existsSync(cozyToml)) {
    log.info({ dir, cozyToml }, "no baked manifest: discovering the project");
    const { discover } = await import("../../discovery/discover.js");
    return (await discover(dir, cozyTomlPath === undefined ? {} : { cozyTomlPath })).manifest;
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
  if (manifest.functions.length === 0 && (manifest.realtime_functions ?? []).length === 0) {
    throw new ServeError(
      `${path} lists no functions: the project exports no handlers (see cozy-worker discover)`,
    );
  }
  return manifest;
}
