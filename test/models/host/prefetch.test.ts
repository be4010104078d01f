/**
 * Prefetch of the deployment's required models (`DeploymentArtifactConfig.required_variant_refs`):
 * a second config that arrives while a prefetch runs joins it. The Python SDK (gen-worker 0.2.1) ran
 * one prefetch at a time and dropped such a config's models (docs/differences.md).
 */
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../../../src/contract/events.js";
import { discover } from "../../../src/discovery/discover.js";
import { createModelHost, type ModelHost } from "../../../src/models/host/model-host.js";
import { GIB } from "../../../src/models/sessions/device-cache.js";
import { modelSettingsFromEnv } from "../../../src/settings/models.js";
import type { FakeHfHub } from "../../support/fake-hf-hub.js";
import { stopHubWithCache } from "../../support/hub-repos.js";
import { cpuModelsEnv, MODELS_PROJECT, startModelsHub } from "../../support/model-repos.js";

let root: string;
let cacheDir: string;
let hub: FakeHfHub;
let host: ModelHost;
const events: RunEvent[] = [];

beforeAll(async () => {
  ({ root, cacheDir, hub } = await startModelsHub("prefetch"));
  host = createModelHost({
    settings: modelSettingsFromEnv(cpuModelsEnv(hub, cacheDir)),
    machine: { memoryBytes: 8 * GIB },
    log: pino({ level: "silent" }),
    manifest: (await discover(MODELS_PROJECT)).manifest,
    onEvent: (event) => events.push(event),
  });
});

afterAll(async () => {
  await host?.close();
  await stopHubWithCache({ root, cacheDir, hub });
});

describe("ModelHost.prefetch", () => {
  it("a second prefetch while one runs joins it: its new models are fetched, the shared one once", async () => {
    hub.faults = { delayMs: 200 };
    const first = host.prefetch(["hf:test/tiny"]);
    for (let waited = 0; host.loadsInFlight === 0; waited += 5) {
      if (waited > 5_000) throw new Error("the first prefetch never started");
      await new Promise((done) => setTimeout(done, 5));
    }
    const second = host.prefetch(["hf:test/tiny", "hf:test/tiny-b"]);
    await Promise.all([first, second]);
    hub.faults = {};

    const fileGets = (repo: string) =>
      hub.requests.filter(
        (r) => r.path.startsWith(`/${repo}/resolve/`) && r.path.endsWith("/onnx/model.onnx"),
      );
    expect(fileGets("test/tiny")).toHaveLength(1);
    expect(fileGets("test/tiny-b")).toHaveLength(1);
    const started = events
      .filter((e) => e.type === "model.download.started")
      .map((e) => (e.payload as { model_id: string }).model_id);
    expect(started.filter((id) => id === "hf:test/tiny")).toHaveLength(1);
    await host.refreshDiskInventory();
    expect(host.inventory().diskModels).toEqual(expect.arrayContaining(["hf:test/tiny", "hf:test/tiny-b"]));
    expect(host.inventory().vramModels).toEqual([]);
  });
});
