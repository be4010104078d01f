import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReceivedMessage, SchedulerServer } from "../../../src/dev/scheduler-server.js";
import type { FakeHfHub } from "../../support/fake-hf-hub.js";
import { stopHubWithCache } from "../../support/hub-repos.js";
import {
  cpuModelsEnv,
  DET_IMAGE,
  DET_SIZE,
  directOutputs,
  float32s,
  MLP_X,
  MODELS_PROJECT,
  startModelsHub,
  VAD_AUDIO,
} from "../../support/model-repos.js";
import {
  decodeOutput,
  eventsOf,
  modelEventsOf,
  type RegisteredResources,
  registrationWhere,
  resultOf,
  sendRun,
  startWorkerWithScheduler,
} from "../../support/worker-process.js";

let root: string;
let cacheDir: string;
let hub: FakeHfHub;
let scheduler: SchedulerServer;
let stopWorker: () => Promise<void>;
let expected: Awaited<ReturnType<typeof directOutputs>>;

function registration(check: (resources: RegisteredResources) => boolean, after = 0) {
  return registrationWhere(scheduler, check, after);
}

function modelEvents(type: string): Record<string, unknown>[] {
  return modelEventsOf(scheduler, type);
}

function commandResult(arm: "load_model_result" | "unload_model_result", modelId: string, after: number) {
  return scheduler
    .waitFor(
      (r: ReceivedMessage) => r.at >= after && r.message.msg === arm && r.message[arm]?.model_id === modelId,
      15_000,
    )
    .then((r) => r.message[arm] as { model_id: string; success: boolean; error_message: string });
}

beforeAll(async () => {
  let tinyPath: string;
  ({ root, cacheDir, hub, tinyPath } = await startModelsHub("worker-models"));
  expected = await directOutputs(tinyPath);
  ({ scheduler, stop: stopWorker } = await startWorkerWithScheduler(MODELS_PROJECT, {
    ...cpuModelsEnv(hub, cacheDir),
    WORKER_MAX_CONCURRENT_DOWNLOADS: "1",
  }));
});

afterAll(async () => {
  await stopWorker?.();
  await stopHubWithCache({ root, cacheDir, hub });
});

describe("cozy-worker serve with models", () => {
  it("registers as able to load models, with nothing loaded or cached yet", () => {
    const resources = scheduler.worker?.registration.resources;
    expect(resources).toMatchObject({ supports_model_loading: true, vram_models: [], disk_models: [] });
    expect(resources?.onnxruntime_version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("runs real models on CPU; outputs equal onnxruntime-node's own; re-registers with them loaded", async () => {
    const started = Date.now();
    sendRun(scheduler, "w-mlp", "mlp", { x: MLP_X });
    sendRun(scheduler, "w-det", "detect", { image: DET_IMAGE, h: DET_SIZE, w: DET_SIZE });
    sendRun(scheduler, "w-vad", "vad", { audio: VAD_AUDIO });
    const [mlp, det, vad] = await Promise.all(
      ["w-mlp", "w-det", "w-vad"].map((id) => resultOf(scheduler, id)),
    );
    expect([mlp?.error_message, det?.error_message, vad?.error_message]).toEqual(["", "", ""]);
    expect((decodeOutput(mlp?.output_payload as Buffer) as { y: number[] }).y).toEqual(expected.mlp);
    const detOutput = decodeOutput(det?.output_payload as Buffer) as { map: number[]; dims: number[] };
    expect(detOutput.dims).toEqual(expected.det.dims);
    expect(float32s(detOutput.map)).toEqual(expected.det.map);
    expect(decodeOutput(vad?.output_payload as Buffer)).toEqual(expected.vad);

    const all = ["hf:test/ppocr-det", "hf:test/silero-vad", "hf:test/tiny"];
    const resources = await registration(
      (r) => r.vram_models.length === 3 && r.disk_models.length === 3,
      started,
    );
    expect([...resources.vram_models].sort()).toEqual(all);
    expect(resources.disk_models).toEqual(all);
    expect(modelEvents("model.download.completed").map((p) => p.model_id)).toEqual(
      expect.arrayContaining(all),
    );
    expect(modelEvents("model.ready")).toHaveLength(3);
    const inventory = modelEvents("models.disk_inventory").at(-1);
    expect(inventory).toMatchObject({ disk_backend: "local", disk_models: all });
    const metrics = eventsOf(scheduler, "w-vad").find((e) => e.type === "metrics.run")?.payload;
    expect(metrics).toMatchObject({
      cache_state: "cold_remote",
      models: [{ model_id: "hf:test/silero-vad" }],
    });
  });

  it("obeys load_model_cmd, and answers a model that does not exist with a clear failure", async () => {
    const started = Date.now();
    scheduler.send({ load_model_cmd: { model_id: "HF:test/tiny-b" } });
    expect(await commandResult("load_model_result", "hf:test/tiny-b", started)).toEqual({
      model_id: "hf:test/tiny-b",
      success: true,
      error_message: "",
    });
    await registration((r) => r.vram_models.includes("hf:test/tiny-b"), started);

    scheduler.send({ load_model_cmd: { model_id: "hf:test/missing" } });
    const missing = await commandResult("load_model_result", "hf:test/missing", started);
    expect(missing.success).toBe(false);
    expect(missing.error_message).toContain("model hf:test/missing was not found");
    expect(modelEvents("model.load.failed").map((p) => p.model_id)).toContain("hf:test/missing");
  });

  it("refuses to unload a model a run is using, unloads it afterwards, and refuses unknown models", async () => {
    const started = Date.now();
    sendRun(scheduler, "w-hold", "hold", { x: MLP_X, ms: 1500 });
    await scheduler.waitFor(
      (r) =>
        r.message.worker_event?.run_id === "w-hold" &&
        r.message.worker_event.event_type === "metrics.compute.started",
      15_000,
    );
    await new Promise((done) => setTimeout(done, 300));
    scheduler.send({ unload_model_cmd: { model_id: "hf:test/tiny" } });
    expect(await commandResult("unload_model_result", "hf:test/tiny", started)).toEqual({
      model_id: "hf:test/tiny",
      success: false,
      error_message: "model_in_use",
    });
    expect(modelEvents("model.unload.failed")).toContainEqual({ model_id: "hf:test/tiny", reason: "in_use" });

    expect((await resultOf(scheduler, "w-hold")).success).toBe(true);
    await new Promise((done) => setTimeout(done, 100));
    const later = Date.now();
    scheduler.send({ unload_model_cmd: { model_id: "hf:test/tiny" } });
    expect((await commandResult("unload_model_result", "hf:test/tiny", later)).success).toBe(true);
    const resources = await registration((r) => !r.vram_models.includes("hf:test/tiny"), later);
    expect(resources.disk_models).toContain("hf:test/tiny");

    scheduler.send({ unload_model_cmd: { model_id: "hf:test/never-loaded" } });
    const unknown = await commandResult("unload_model_result", "hf:test/never-loaded", later);
    expect(unknown).toMatchObject({
      success: false,
      error_message: "model hf:test/never-loaded is not loaded",
    });
  });

  it("prefetches the deployment's required models to disk without loading them", async () => {
    const started = Date.now();
    scheduler.send({
      deployment_artifact_config: {
        supported_repo_refs: [],
        repo_ref_by_key: {},
        resolved_cozy_models_by_variant_ref: {},
        required_variant_refs: ["hf:test/tiny-c"],
      },
    });
    const resources = await registration((r) => r.disk_models.includes("hf:test/tiny-c"), started);
    expect(resources.vram_models).not.toContain("hf:test/tiny-c");
    expect(modelEvents("model.download.started")).toContainEqual({ model_id: "hf:test/tiny-c" });
  });
});
