/**
 * The presigned `cozy:` URLs the model host holds: the newest per model, from the deployment config
 * and from tasks alike. The Python SDK (gen-worker 0.2.1) used a task's map instead of the config's
 * whenever the task carried one, never both (docs/differences.md).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discover } from "../../../src/discovery/discover.js";
import { createModelHost, type ModelHost } from "../../../src/models/host/model-host.js";
import { GIB } from "../../../src/models/sessions/device-cache.js";
import { modelSettingsFromEnv } from "../../../src/settings/models.js";
import { type FakeCozyHub, startFakeCozyHub } from "../../support/fake-cozy-hub.js";
import { tempDir } from "../../support/hub-repos.js";
import { publishTinyRepos, writeModelRepos } from "../../support/model-repos.js";
import { REPO_ROOT } from "../../support/runner-process.js";

const TINY = "cozy:test/tiny:v1";
const TINY_B = "cozy:test/tiny-b:v1";

let root: string;
let cacheDir: string;
let hub: FakeCozyHub;
let host: ModelHost;

beforeAll(async () => {
  root = await tempDir("cozy-urls-repos-");
  cacheDir = await tempDir("cozy-urls-cache-");
  await writeModelRepos(root);
  hub = await startFakeCozyHub();
  await publishTinyRepos(hub, root);
  host = createModelHost({
    settings: modelSettingsFromEnv({ WORKER_MODEL_CACHE_DIR: cacheDir, WORKER_ORT_PROVIDERS: "cpu" }),
    machine: { memoryBytes: 8 * GIB },
    log: pino({ level: "silent" }),
    manifest: (await discover(join(REPO_ROOT, "test/projects/cozy-models"))).manifest,
  });
});

afterAll(async () => {
  await host?.close();
  await hub?.close();
  await rm(root, { recursive: true, force: true });
  await rm(cacheDir, { recursive: true, force: true });
});

describe("ModelHost presigned cozy: URLs", () => {
  it("keeps the deployment config's URLs when a task brings URLs for other models", async () => {
    host.setResolvedCozyModels({ [TINY]: hub.resolved("test/tiny", "v1") }); // the deployment config
    host.setResolvedCozyModels({ [TINY_B]: hub.resolved("test/tiny-b", "v1") }); // a task
    await host.prefetch([TINY, TINY_B]);
    await host.refreshDiskInventory();
    expect(host.inventory().diskModels).toEqual([TINY, TINY_B].sort());
  });
});
