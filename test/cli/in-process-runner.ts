import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createDevServer } from "../../src/adapters/http/server.js";
import { type DevFileApi, startDevFileApi } from "../../src/dev/file-api-server.js";
import { discover } from "../../src/discovery/discover.js";
import { Executor } from "../../src/runtime/executor.js";
import { loadTenantModule } from "../../src/runtime/tenant-loader.js";
import { runtimeSettingsFromEnv } from "../../src/settings/runtime.js";
import { removeTenantBundles } from "../support/runner-process.js";

export interface InProcessRunner {
  url: string;
  close(): Promise<void>;
}

/**
 * A dev runner in this process, wired from the parts `run --local` uses (discovery, the tenant
 * loader, the executor, the HTTP server, the dev file API for `filesDir`), that lists its
 * functions at `GET /v1/functions` unless `listFunctions` is false.
 */
export async function startInProcessRunner(
  projectDir: string,
  options: { filesDir?: string; listFunctions?: boolean } = {},
): Promise<InProcessRunner> {
  const { manifest } = await discover(projectDir);
  const handlers = await loadTenantModule(projectDir, resolve(projectDir, manifest.runtime.main));
  const work = await mkdtemp(join(tmpdir(), "cozy-invoke-"));
  let files: DevFileApi | undefined;
  if (options.filesDir !== undefined) {
    files = await startDevFileApi({ dir: resolve(options.filesDir), listen: "127.0.0.1:0" });
  }
  const defaults = runtimeSettingsFromEnv({});
  const executor = new Executor({
    manifest,
    handlers,
    settings: {
      ...defaults,
      runDir: join(work, "runs"),
      cacheDir: join(work, "cache"),
      fileApi: files ? { baseUrl: files.url } : {},
    },
    outputsDir: join(work, "outputs"),
  });
  const server = createDevServer({
    executor: () => executor,
    ...(options.listFunctions === false ? {} : { functions: () => manifest.functions }),
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      const closed = new Promise((done) => server.close(done));
      server.closeAllConnections();
      await closed;
      await executor.drain(1000);
      await files?.close();
      await rm(work, { recursive: true, force: true });
      await removeTenantBundles(projectDir, process.pid);
    },
  };
}
