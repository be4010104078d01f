import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResponse } from "../../../src/adapters/http/client.js";
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
import { type RunnerProcess, startRunner } from "../../support/runner-process.js";

let root: string;
let cacheDir: string;
let hub: FakeHfHub;
let runner: RunnerProcess;
let expected: Awaited<ReturnType<typeof directOutputs>>;

async function post(endpoint: string, payload: unknown): Promise<RunResponse> {
  const response = await fetch(`${runner.url}/v1/run/${endpoint}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  return (await response.json()) as RunResponse;
}

beforeAll(async () => {
  let tinyPath: string;
  ({ root, cacheDir, hub, tinyPath } = await startModelsHub("runner-models"));
  expected = await directOutputs(tinyPath);
  runner = await startRunner(MODELS_PROJECT, cpuModelsEnv(hub, cacheDir));
});

afterAll(async () => {
  await runner?.stop();
  await stopHubWithCache({ root, cacheDir, hub });
});

describe("cozy-worker run --local with models from a Hugging Face hub", () => {
  it("downloads, caches and injects real models; outputs equal onnxruntime-node's own", async () => {
    const mlp = await post("mlp", { x: MLP_X });
    expect(mlp).toMatchObject({ success: true, output: { key: "tiny", ref: "hf:test/tiny" } });
    expect((mlp.output as { y: number[] }).y).toEqual(expected.mlp);

    const det = await post("detect", { image: DET_IMAGE, h: DET_SIZE, w: DET_SIZE });
    expect(det.success).toBe(true);
    const detOutput = det.output as { map: number[]; dims: number[] };
    expect(detOutput.dims).toEqual(expected.det.dims);
    expect(float32s(detOutput.map)).toEqual(expected.det.map);

    const vad = await post("vad", { audio: VAD_AUDIO });
    expect(vad.success).toBe(true);
    expect(vad.output).toEqual(expected.vad);
    const metrics = vad.events.find((e) => e.event_type === "metrics.run")?.payload;
    expect(metrics).toMatchObject({ cache_state: "cold_remote" });

    const again = await post("vad", { audio: VAD_AUDIO });
    expect(again.output).toEqual(expected.vad);
    expect(again.events.find((e) => e.event_type === "metrics.run")?.payload).toMatchObject({
      cache_state: "hot_vram",
    });
    expect(runner.stderr()).toContain("downloading hf:test/ppocr-det");
    expect(runner.stderr()).toMatch(/session for \S+det\.onnx runs on cpu/);
  });

  it("shows loaded and cached models in /v1/status", async () => {
    const status = (await (await fetch(`${runner.url}/v1/status`)).json()) as {
      model_cache: Record<string, unknown>;
    };
    const models = ["hf:test/ppocr-det", "hf:test/silero-vad", "hf:test/tiny"];
    expect(status.model_cache).toMatchObject({ device: "cpu", pinned_models: [], vram_model_count: 3 });
    expect([...(status.model_cache.vram_models as string[])].sort()).toEqual(models);
    expect(status.model_cache.disk_models).toEqual(models);
  });

  it("answers a payload key outside the keyspace with 400 and the allowed keys", async () => {
    const response = await post("pick", { model: "hf:test/tiny", x: MLP_X });
    expect(response).toMatchObject({ success: false, error_type: "validation" });
    expect(response.safe_message).toContain("allowed keys: [det, tiny, tiny-b, tiny-c, vad]");
  });
});
