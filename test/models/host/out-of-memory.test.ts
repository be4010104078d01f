import { Tensor } from "onnxruntime-node";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildRegistration } from "../../../src/adapters/grpc/registration.js";
import type { EventPayloads, RunEvent } from "../../../src/contract/events.js";
import type { Model } from "../../../src/contract/handler-api.js";
import type { Manifest } from "../../../src/contract/manifest.js";
import { discover } from "../../../src/discovery/discover.js";
import type { MachineInfo } from "../../../src/host/machine-info.js";
import { createModelHost, type ModelHost } from "../../../src/models/host/model-host.js";
import { GIB } from "../../../src/models/sessions/device-cache.js";
import { defaultSessionFactory } from "../../../src/models/sessions/session-factory.js";
import { Executor, type HandlerTable } from "../../../src/runtime/executor.js";
import { modelSettingsFromEnv } from "../../../src/settings/models.js";
import { runtimeSettingsFromEnv } from "../../../src/settings/runtime.js";
import { workerSettingsFromEnv } from "../../../src/settings/worker.js";
import type { FakeHfHub } from "../../support/fake-hf-hub.js";
import { stopHubWithCache } from "../../support/hub-repos.js";
import { cpuModelsEnv, MLP_X, MODELS_PROJECT, startModelsHub } from "../../support/model-repos.js";
import { tinyModelExpected } from "../../support/onnx/tiny-model.js";
import { InjectedOutOfMemory } from "../../support/out-of-memory.js";

const quiet = pino({ level: "silent" });
const READING = { usedBytes: 79 * GIB, freeBytes: 1 * GIB };

let root: string;
let cacheDir: string;
let hub: FakeHfHub;
let manifest: Manifest;
let host: ModelHost;
let executor: Executor;
let injected: InjectedOutOfMemory;
let inventoryChanges = 0;
const events: RunEvent[] = [];

async function infer(_ctx: unknown, input: { x: number[] }, model: Model) {
  const X = new Tensor("float32", Float32Array.from(input.x), [input.x.length / 4, 4]);
  return {
    y: Array.from((await model.session.run({ X })).Y?.data as Float32Array),
    key: model.key,
    ref: model.ref,
  };
}

const handlers: HandlerTable = {
  mlp: infer,
  pick: infer,
  hold: infer,
  detect: async () => ({ map: [], dims: [] }),
  vad: async () => ({ probability: [], hn: [], cn: [] }),
} as HandlerTable;

function pick(runId: string, model: string) {
  return executor.run({ runId, functionName: "pick", payload: { model, x: MLP_X }, payloadBytes: 10 });
}

function oomEvents(): EventPayloads["model.out_of_memory"][] {
  return events.filter((e) => e.type === "model.out_of_memory").map((e) => e.payload as never);
}

async function settled(): Promise<void> {
  // The report waits for the device memory reading, then asks for a registration.
  for (let i = 0; i < 50 && inventoryChanges === 0; i++) await new Promise((done) => setTimeout(done, 5));
}

beforeAll(async () => {
  ({ root, cacheDir, hub } = await startModelsHub("oom"));
  manifest = (await discover(MODELS_PROJECT)).manifest;
  injected = new InjectedOutOfMemory(defaultSessionFactory({ providers: ["cpu"], log: quiet }));
  host = createModelHost({
    // A budget all three tiny models fit in: only the injected failures evict anything.
    settings: modelSettingsFromEnv({ ...cpuModelsEnv(hub, cacheDir), WORKER_MAX_VRAM_GB: "1" }),
    machine: { memoryBytes: 8 * GIB },
    log: quiet,
    manifest,
    onEvent: (event) => events.push(event),
    onInventoryChange: () => {
      inventoryChanges += 1;
    },
    sessionFactory: injected.factory,
    readDeviceMemory: async () => READING,
  });
  executor = new Executor({
    manifest,
    handlers,
    settings: runtimeSettingsFromEnv({}),
    onEvent: (event) => events.push(event),
    models: host,
  });
});

afterAll(async () => {
  await host?.close();
  await stopHubWithCache({ root, cacheDir, hub });
});

beforeEach(() => {
  injected.failCreates = 0;
  injected.failRuns = 0;
});

describe("out of memory while creating a model's sessions", () => {
  it("evicts the least recently used model not in use, retries once and serves the run", async () => {
    expect((await pick("load-a", "tiny")).success).toBe(true);
    expect((await pick("load-b", "tiny-b")).success).toBe(true);
    expect(host.inventory().vramModels).toEqual(["hf:test/tiny", "hf:test/tiny-b"]);
    injected.failCreates = 1;
    inventoryChanges = 0;
    const result = await pick("load-c", "tiny-c");
    expect(result).toMatchObject({ success: true, output: { y: Array.from(tinyModelExpected(MLP_X)) } });
    expect(injected.failCreates).toBe(0);
    expect(host.inventory().vramModels).toEqual(["hf:test/tiny-b", "hf:test/tiny-c"]);
    expect(oomEvents()).toEqual([
      {
        model_id: "hf:test/tiny-c",
        phase: "load",
        evicted: ["hf:test/tiny"],
        freed_bytes: expect.any(Number),
        recovered: true,
      },
    ]);
    expect(oomEvents()[0]?.freed_bytes).toBeGreaterThan(0);
    expect(host.outOfMemoryEvents).toBe(1);

    // The worker's next registration reports the device memory read after the failure, once.
    await settled();
    const report = host.takeOutOfMemoryReport();
    expect(report).toEqual({ modelId: "hf:test/tiny-c", phase: "load", recovered: true, memory: READING });
    expect(host.takeOutOfMemoryReport()).toBeUndefined();
    const machine: MachineInfo = {
      cpuCores: 16,
      memoryBytes: 128 * GIB,
      onnxruntimeVersion: "1.29.0",
      gpu: {
        count: 1,
        name: "NVIDIA H200",
        driver: "580",
        memoryBytes: 80 * GIB,
        usedBytes: 0,
        freeBytes: 80 * GIB,
        sm: "90",
        cudaVersion: "13.0",
      },
    };
    const registration = (outOfMemory: typeof report) =>
      buildRegistration({
        manifest,
        machine,
        settings: workerSettingsFromEnv({ SCHEDULER_PUBLIC_ADDR: "localhost:1", WORKER_JWT: "x" }),
        models: host.inventory(),
        gpuBusy: false,
        isHeartbeat: false,
        outOfMemory,
      }).resources;
    expect(registration(report)).toMatchObject({
      gpu_memory_free_bytes: READING.freeBytes,
      gpu_memory_used_bytes: READING.usedBytes,
      vram_models: ["hf:test/tiny-b", "hf:test/tiny-c"],
    });
    expect(registration(undefined)).toMatchObject({
      gpu_memory_free_bytes: 80 * GIB,
      gpu_memory_used_bytes: 0,
    });
    expect(registration({ modelId: "m", phase: "run", recovered: false })).toMatchObject({
      gpu_memory_free_bytes: 0,
      gpu_memory_used_bytes: 80 * GIB,
    });
  });

  it("fails the run as a retryable resource error when the retry runs out of memory too", async () => {
    events.length = 0;
    injected.failCreates = 2;
    const result = await pick("load-fail", "tiny");
    expect(result).toMatchObject({ success: false, errorType: "resource", retryable: true });
    expect(result.safeMessage).toContain("out of memory loading model hf:test/tiny");
    expect(oomEvents()).toEqual([
      expect.objectContaining({
        model_id: "hf:test/tiny",
        phase: "load",
        evicted: ["hf:test/tiny-b"],
        recovered: false,
      }),
    ]);
    expect(host.inventory().vramModels).toEqual(["hf:test/tiny-c"]);
    expect(events.find((e) => e.type === "model.load.failed")?.payload).toMatchObject({
      model_id: "hf:test/tiny",
    });
  });
});

describe("out of memory while running a session", () => {
  it("evicts models not in use (never the running one), retries the run once and returns its result", async () => {
    expect((await pick("run-a", "tiny")).success).toBe(true);
    expect(host.inventory().vramModels).toEqual(["hf:test/tiny-c", "hf:test/tiny"]);
    events.length = 0;
    injected.failRuns = 1;
    const result = await pick("run-oom", "tiny");
    expect(result).toMatchObject({ success: true, output: { y: Array.from(tinyModelExpected(MLP_X)) } });
    expect(oomEvents()).toEqual([
      expect.objectContaining({
        model_id: "hf:test/tiny",
        phase: "run",
        evicted: ["hf:test/tiny-c"],
        recovered: true,
      }),
    ]);
    expect(host.inventory().vramModels).toEqual(["hf:test/tiny"]);
  });

  it("fails the run as a retryable resource error when the retried run runs out of memory too", async () => {
    events.length = 0;
    injected.failRuns = 2;
    const result = await pick("run-fail", "tiny");
    expect(result).toMatchObject({ success: false, errorType: "resource", retryable: true });
    expect(result.safeMessage).toContain("out of memory running model hf:test/tiny");
    // Nothing else was loaded to evict; the model in use stays loaded.
    expect(oomEvents()).toEqual([
      { model_id: "hf:test/tiny", phase: "run", evicted: [], freed_bytes: 0, recovered: false },
    ]);
    expect(host.inventory().vramModels).toEqual(["hf:test/tiny"]);
    expect((await pick("after", "tiny")).success).toBe(true);
  });
});
