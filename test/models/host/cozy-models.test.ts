/**
 * `cozy:` models end to end: the scheduler (real gRPC) sends presigned URLs in the deployment config
 * or in a task, or a dev runner request carries them as JSON; the worker downloads from a loopback
 * Cozy Hub (real HTTP) and the handler runs the model.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResponse } from "../../../src/adapters/http/client.js";
import type { SchedulerServer } from "../../../src/dev/scheduler-server.js";
import { type FakeCozyHub, startFakeCozyHub } from "../../support/fake-cozy-hub.js";
import { tempDir } from "../../support/hub-repos.js";
import { directOutputs, MLP_X, publishTinyRepos, writeModelRepos } from "../../support/model-repos.js";
import { REPO_ROOT, type RunnerProcess, startRunner } from "../../support/runner-process.js";
import {
  decodeOutput,
  eventsOf,
  modelEventsOf,
  registrationWhere,
  resultOf,
  sendRun,
  startWorkerWithScheduler,
} from "../../support/worker-process.js";

const PROJECT = join(REPO_ROOT, "test/projects/cozy-models");
const TINY = "cozy:test/tiny:v1";
const TINY_B = "cozy:test/tiny-b:v1";

let root: string;
let cacheDir: string;
let hub: FakeCozyHub;
let scheduler: SchedulerServer;
let stopWorker: () => Promise<void>;
let expectedY: number[];
const digests: Record<string, string> = {};

function deploy(resolved: Record<string, ReturnType<FakeCozyHub["resolved"]>>, required: string[]): void {
  scheduler.send({
    deployment_artifact_config: {
      supported_repo_refs: [],
      repo_ref_by_key: {},
      resolved_cozy_models_by_variant_ref: resolved as never,
      required_variant_refs: required,
    },
  });
}

async function waitForEvent(type: string, modelId: string, after: number): Promise<void> {
  await scheduler.waitFor(
    (r) =>
      r.at >= after &&
      r.message.worker_event?.event_type === type &&
      JSON.parse(r.message.worker_event.payload_json.toString("utf8")).model_id === modelId,
    15_000,
  );
}

beforeAll(async () => {
  root = await tempDir("worker-cozy-repos-");
  cacheDir = await tempDir("worker-cozy-cache-");
  const tinyPath = await writeModelRepos(root);
  expectedY = (await directOutputs(tinyPath)).mlp;
  hub = await startFakeCozyHub();
  // The hf test repos' files, published as cozy snapshots (told apart by their config.json).
  Object.assign(digests, await publishTinyRepos(hub, root));
  ({ scheduler, stop: stopWorker } = await startWorkerWithScheduler(PROJECT, {
    WORKER_MODEL_CACHE_DIR: cacheDir,
    WORKER_ORT_PROVIDERS: "cpu",
    WORKER_ALLOW_COZY_HUB_API_RESOLVE: "",
    COZY_HUB_URL: "",
  }));
});

afterAll(async () => {
  await stopWorker?.();
  await hub?.close();
  await rm(root, { recursive: true, force: true });
  await rm(cacheDir, { recursive: true, force: true });
});

describe("cozy-worker serve with cozy: models", () => {
  it("fails a run whose cozy: model came without URLs, saying the scheduler must send them", async () => {
    sendRun(scheduler, "c-none", "pick", { model: "tiny", x: MLP_X });
    const result = await resultOf(scheduler, "c-none");
    expect(result).toMatchObject({ success: false, error_type: "fatal", retryable: false });
    expect(result.error_message).toContain(
      `${TINY}: cozy model download requires orchestrator-resolved URLs`,
    );
    expect(result.error_message).toContain("the scheduler must send this model's presigned URLs");
    expect(result.error_message).toContain("WORKER_ALLOW_COZY_HUB_API_RESOLVE=1");
    expect(hub.requests).toEqual([]);
  });

  it("asks for fresh URLs (model.url_refresh) when the config's have expired, then uses newer ones", async () => {
    const started = Date.now();
    deploy({ [TINY]: hub.resolved("test/tiny", "v1", { ttlMs: -1000 }) }, [TINY]);
    await waitForEvent("model.url_refresh", TINY, started);
    expect(modelEventsOf(scheduler, "model.download.failed")).toContainEqual(
      expect.objectContaining({ model_id: TINY }),
    );
    expect(hub.requests.length).toBeGreaterThan(0);
    expect(hub.requests.every((request) => request.status === 403)).toBe(true);

    const renewed = Date.now();
    deploy({ [TINY]: hub.resolved("test/tiny", "v1") }, [TINY]);
    const resources = await registrationWhere(scheduler, (r) => r.disk_models.includes(TINY), renewed);
    expect(resources.disk_models).toEqual([TINY]);
    expect(resources.vram_models).toEqual([]);
    expect(modelEventsOf(scheduler, "model.download.completed")).toContainEqual(
      expect.objectContaining({ model_id: TINY, cached: false }),
    );
    expect(modelEventsOf(scheduler, "model.cached")).toContainEqual(
      expect.objectContaining({ model_variant_id: TINY, disk_backend: "local" }),
    );
    await scheduler.waitFor((r) => r.message.worker_event?.event_type === "models.disk_inventory", 15_000);
    expect(modelEventsOf(scheduler, "models.disk_inventory").at(-1)).toMatchObject({ disk_models: [TINY] });
    expect(
      existsSync(join(cacheDir, "cozy", "snapshots", digests["test/tiny"] ?? "", "onnx/model.onnx")),
    ).toBe(true);
  });

  it("runs the handler on the prefetched snapshot; the output equals onnxruntime-node's own", async () => {
    const blobRequests = hub.requests.length;
    sendRun(scheduler, "c-tiny", "pick", { model: "tiny", x: MLP_X });
    const result = await resultOf(scheduler, "c-tiny");
    expect(result.error_message).toBe("");
    const output = decodeOutput(result.output_payload) as {
      y: number[];
      key: string;
      ref: string;
      path: string;
    };
    expect(output).toMatchObject({ key: "tiny", ref: TINY });
    expect(output.y).toEqual(expectedY);
    expect(output.path).toBe(join(cacheDir, "cozy", "snapshots", digests["test/tiny"] ?? ""));
    expect(hub.requests.length).toBe(blobRequests);
    const metrics = eventsOf(scheduler, "c-tiny").find((e) => e.type === "metrics.run")?.payload;
    expect(metrics).toMatchObject({
      cache_state: "warm_disk",
      models: [{ model_id: TINY, cache_state: "warm_disk", snapshot_digest: digests["test/tiny"] }],
    });
  });

  it("uses the URLs a task carries (resolved_cozy_models_by_id) and reports the model loaded and cached", async () => {
    const started = Date.now();
    sendRun(
      scheduler,
      "c-tiny-b",
      "pick",
      { model: "tiny-b", x: MLP_X },
      { resolved_cozy_models_by_id: { [TINY_B]: hub.resolved("test/tiny-b", "v1") as never } },
    );
    const result = await resultOf(scheduler, "c-tiny-b");
    expect(result.error_message).toBe("");
    expect((decodeOutput(result.output_payload) as { y: number[] }).y).toEqual(expectedY);
    const metrics = eventsOf(scheduler, "c-tiny-b").find((e) => e.type === "metrics.run")?.payload;
    expect(metrics).toMatchObject({ cache_state: "cold_remote", models: [{ model_id: TINY_B }] });
    const resources = await registrationWhere(
      scheduler,
      (r) => r.disk_models.length === 2 && r.vram_models.length === 2,
      started,
    );
    expect(resources.disk_models).toEqual([TINY, TINY_B].sort());
    expect([...resources.vram_models].sort()).toEqual([TINY, TINY_B].sort());
  });
});

describe("cozy-worker run --local with cozy: models", () => {
  let runner: RunnerProcess;
  let runnerCache: string;

  beforeAll(async () => {
    runnerCache = await tempDir("runner-cozy-cache-");
    runner = await startRunner(PROJECT, { WORKER_MODEL_CACHE_DIR: runnerCache, WORKER_ORT_PROVIDERS: "cpu" });
  });

  afterAll(async () => {
    await runner?.stop();
    await rm(runnerCache, { recursive: true, force: true });
  });

  async function post(body: unknown): Promise<RunResponse> {
    const response = await fetch(`${runner.url}/v1/run/pick`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return (await response.json()) as RunResponse;
  }

  it("uses the envelope's resolved_cozy_models_by_id (plain JSON), and fails clearly without it", async () => {
    const without = await post({ payload: { model: "tiny", x: MLP_X } });
    expect(without).toMatchObject({ success: false, error_type: "fatal" });
    expect(without.error_message).toContain("cozy model download requires orchestrator-resolved URLs");

    const run = await post({
      payload: { model: "tiny", x: MLP_X },
      resolved_cozy_models_by_id: { [TINY]: hub.resolved("test/tiny", "v1") },
    });
    expect(run).toMatchObject({ success: true, output: { key: "tiny", ref: TINY } });
    expect((run.output as { y: number[] }).y).toEqual(expectedY);
  });
});
