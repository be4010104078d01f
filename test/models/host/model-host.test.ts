import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { Tensor } from "onnxruntime-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../../../src/contract/events.js";
import type { Model } from "../../../src/contract/handler-api.js";
import type { Manifest } from "../../../src/contract/manifest.js";
import { discover } from "../../../src/discovery/discover.js";
import { primaryGraph } from "../../../src/models/host/model-handle.js";
import { createModelHost, type ModelHost } from "../../../src/models/host/model-host.js";
import { innerSession } from "../../../src/models/serving/served-session.js";
import { GIB } from "../../../src/models/sessions/device-cache.js";
import { Executor, type HandlerTable } from "../../../src/runtime/executor.js";
import { modelSettingsFromEnv } from "../../../src/settings/models.js";
import { runtimeSettingsFromEnv } from "../../../src/settings/runtime.js";
import type { FakeHfHub } from "../../support/fake-hf-hub.js";
import { stopHubWithCache } from "../../support/hub-repos.js";
import { cpuModelsEnv, MLP_X, MODELS_PROJECT, startModelsHub } from "../../support/model-repos.js";
import { tinyModelExpected } from "../../support/onnx/tiny-model.js";

const quiet = pino({ level: "silent" });

async function runMlp(model: Model, x: number[]): Promise<number[]> {
  const out = await model.session.run({ X: new Tensor("float32", Float32Array.from(x), [x.length / 4, 4]) });
  return Array.from(out.Y?.data as Float32Array);
}

let root: string;
let cacheDir: string;
let hub: FakeHfHub;
let manifest: Manifest;
let tinyBytes: number;
let host: ModelHost;
let executor: Executor;
const events: RunEvent[] = [];
/** Every model a handler received, by run id. */
const seen = new Map<string, Model>();
/** Runs of `hold` wait here until the test lets them go. */
const gates = new Map<string, () => void>();

/** `mlp` and `pick` keep their model in use until the test opens the gate when the payload says `hold`. */
async function infer(ctx: { runId: string }, input: { x: number[]; hold?: boolean }, model: Model) {
  seen.set(ctx.runId, model);
  const y = await runMlp(model, input.x);
  if (input.hold) await new Promise<void>((done) => gates.set(ctx.runId, done));
  return { y, key: model.key, ref: model.ref };
}

const handlers: HandlerTable = {
  mlp: infer,
  pick: infer,
  hold: infer,
  detect: async () => ({ map: [], dims: [] }),
  vad: async () => ({ probability: [], hn: [], cn: [] }),
};

function run(runId: string, functionName: string, payload: Record<string, unknown>) {
  return executor.run({ runId, functionName, payload, payloadBytes: 10 });
}

function eventsOf(runId: string, type?: string): RunEvent[] {
  return events.filter((e) => e.runId === runId && (type === undefined || e.type === type));
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 10_000) throw new Error("condition not met in 10 s");
    await new Promise((done) => setTimeout(done, 10));
  }
}

beforeAll(async () => {
  let tinyPath: string;
  ({ root, cacheDir, hub, tinyPath } = await startModelsHub("model-host"));
  tinyBytes = (await stat(tinyPath)).size;
  manifest = (await discover(MODELS_PROJECT)).manifest;
  // Fits two of the three tiny models (each is one graph of `tinyBytes`), not three.
  const budgetGb = (2.5 * tinyBytes) / GIB;
  host = createModelHost({
    settings: modelSettingsFromEnv({
      ...cpuModelsEnv(hub, cacheDir),
      WORKER_MAX_VRAM_GB: budgetGb.toFixed(12),
    }),
    machine: { memoryBytes: 8 * GIB },
    log: quiet,
    manifest,
    onEvent: (event) => events.push(event),
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

describe("model injection through the executor", () => {
  it("downloads, loads and injects a model (cold), then reuses its sessions (hot)", async () => {
    const cold = await run("cold", "mlp", { x: MLP_X });
    expect(cold).toMatchObject({ success: true, output: { key: "tiny", ref: "hf:test/tiny" } });
    expect((cold.output as { y: number[] }).y).toEqual(Array.from(tinyModelExpected(MLP_X)));
    const modelEvents = events.filter((e) => e.runId === "").map((e) => e.type);
    expect(modelEvents).toEqual([
      "model.load.started",
      "model.download.started",
      "model.download.completed",
      "model.ready",
      "model.cached",
      "model.load.completed",
    ]);
    expect(events.find((e) => e.type === "model.cached")?.payload).toMatchObject({
      model_variant_id: "hf:test/tiny",
      disk_backend: "local",
      disk_volume_key: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const coldMetrics = eventsOf("cold", "metrics.run")[0]?.payload;
    expect(coldMetrics).toMatchObject({
      cache_state: "cold_remote",
      models: [
        {
          model_id: "hf:test/tiny",
          cache_state: "cold_remote",
          snapshot_digest: await hub.commitOf("test/tiny"),
          bytes_downloaded: expect.any(Number),
        },
      ],
    });
    expect(eventsOf("cold").map((e) => e.type)).toEqual([
      "metrics.compute.started",
      "metrics.compute.completed",
      "metrics.fetch",
      "metrics.gpu_load",
      "metrics.inference",
      "metrics.run",
    ]);

    const hot = await run("hot", "mlp", { x: MLP_X });
    expect(hot.success).toBe(true);
    expect(eventsOf("hot", "metrics.run")[0]?.payload).toMatchObject({
      cache_state: "hot_vram",
      models: [{ model_id: "hf:test/tiny", cache_state: "hot_vram" }],
    });
    expect(eventsOf("hot", "metrics.fetch")[0]?.payload).toEqual({ ms: 0 });
    // Each run gets its own view of the session (src/models/serving/served-session.ts); the ONNX Runtime
    // session behind the views is the one loaded for the cold run.
    expect(innerSession(seen.get("hot")?.session as never)).toBe(
      innerSession(seen.get("cold")?.session as never),
    );
    expect(seen.get("hot")?.session).not.toBe(innerSession(seen.get("hot")?.session as never));
    expect(host.inventory()).toEqual({ vramModels: ["hf:test/tiny"], diskModels: ["hf:test/tiny"] });
  });

  it("gives handlers the Model API: sessions by graph name, the primary session, files inside the folder", async () => {
    const model = seen.get("cold") as Model;
    expect(Object.keys(model.sessions)).toEqual(["onnx/model"]);
    expect(model.session).toBe(model.sessions["onnx/model"]);
    expect(model.path).toBe(join(cacheDir, "hf", "test--tiny", "snapshots", await hub.commitOf("test/tiny")));
    expect(existsSync(model.file("config.json"))).toBe(true);
    expect(model.file("onnx/model.onnx")).toBe(join(model.path, "onnx", "model.onnx"));
    expect(() => model.file("../other/config.json")).toThrow(
      /path traversal not allowed.*inside the model folder/,
    );
    expect(() => model.file("/etc/passwd")).not.toThrow();
    expect(model.file("/etc/passwd")).toBe(join(model.path, "etc", "passwd"));
    expect(primaryGraph(["text_encoder/model", "unet/model", "vae_decoder/model"])).toBe(
      "text_encoder/model",
    );
    expect(primaryGraph(["onnx/decoder_model", "onnx/model"])).toBe("onnx/model");
    expect(primaryGraph(["onnx/encoder_model"])).toBe("onnx/encoder_model");
  });

  it("shares one download and one load between concurrent runs of the same cold model", async () => {
    const results = await Promise.all([
      run("same-1", "pick", { model: "tiny-b", x: MLP_X }),
      run("same-2", "pick", { model: "tiny-b", x: MLP_X }),
    ]);
    expect(results.map((r) => r.success)).toEqual([true, true]);
    const files = hub.requests.filter((r) => r.path.includes("/test/tiny-b/resolve/")).map((r) => r.path);
    expect(files.filter((path) => path.endsWith("/onnx/model.onnx"))).toHaveLength(1);
    const loads = events.filter(
      (e) => e.type === "model.load.started" && e.payload.model_id === "hf:test/tiny-b",
    );
    expect(loads).toHaveLength(1);
    expect(innerSession(seen.get("same-1")?.session as never)).toBe(
      innerSession(seen.get("same-2")?.session as never),
    );
    expect(seen.get("same-1")?.key).toBe("tiny-b");
  });

  it("evicts the least recently used unpinned model, never one in use, and releases its sessions", async () => {
    expect(host.inventory().vramModels).toEqual(["hf:test/tiny", "hf:test/tiny-b"]);
    const holding = run("hold-tiny", "mlp", { x: MLP_X, hold: true });
    await waitFor(() => gates.has("hold-tiny"));
    // tiny-b is used after tiny, so tiny is the least recently used model, but a run holds it.
    expect((await run("use-b", "pick", { model: "tiny-b", x: MLP_X })).success).toBe(true);
    const tinyB = seen.get("use-b") as Model;
    const third = await run("third", "pick", { model: "tiny-c", x: MLP_X });
    expect(third.success).toBe(true);
    expect(host.inventory().vramModels).toEqual(["hf:test/tiny", "hf:test/tiny-c"]);
    await expect(runMlp(tinyB, MLP_X)).rejects.toThrow(/disposed/i);

    gates.get("hold-tiny")?.();
    expect((await holding).success).toBe(true);
    await waitFor(() => !host.device.isPinned("hf:test/tiny"));
    // tiny's run ended after tiny-c's, so tiny-c is now the least recently used.
    const tinyC = seen.get("third") as Model;
    expect((await run("back", "pick", { model: "tiny-b", x: MLP_X })).success).toBe(true);
    expect(host.inventory().vramModels).toEqual(["hf:test/tiny", "hf:test/tiny-b"]);
    await expect(runMlp(tinyC, MLP_X)).rejects.toThrow(/disposed/i);
    expect(await runMlp(seen.get("hold-tiny") as Model, MLP_X)).toEqual(Array.from(tinyModelExpected(MLP_X)));
  });

  it("fails a load that cannot fit beside models in use with a retryable resource error", async () => {
    const first = run("pin-tiny", "mlp", { x: MLP_X, hold: true });
    const second = run("pin-b", "pick", { model: "tiny-b", x: MLP_X, hold: true });
    await waitFor(() => gates.has("pin-tiny") && gates.has("pin-b"));
    const refused = await run("no-room", "pick", { model: "tiny-c", x: MLP_X });
    expect(refused).toMatchObject({ success: false, errorType: "resource", retryable: true });
    expect(refused.safeMessage).toContain("insufficient_vram");
    expect(host.inventory().vramModels).toEqual(["hf:test/tiny", "hf:test/tiny-b"]);
    gates.get("pin-tiny")?.();
    gates.get("pin-b")?.();
    expect((await Promise.all([first, second])).map((r) => r.success)).toEqual([true, true]);
  });

  it("refuses payload values that are not keys of the endpoint's keyspace, naming the field and the keys", async () => {
    const unknown = await run("bad-key", "pick", { model: "nope", x: MLP_X });
    expect(unknown).toMatchObject({ success: false, errorType: "validation", retryable: false });
    expect(unknown.safeMessage).toBe(
      "unknown model key 'nope' for payload field 'model'; allowed keys: [det, tiny, tiny-b, tiny-c, vad]",
    );
    const raw = await run("raw-ref", "pick", { model: "hf:test/tiny", x: MLP_X });
    expect(raw.errorType).toBe("validation");
    expect(raw.safeMessage).toContain("model refs are not accepted in a payload, only keys");
    expect(eventsOf("raw-ref", "metrics.run")[0]?.payload).not.toHaveProperty("cache_state");
  });

  it("applies the release allowlist of the scheduler's deployment config", async () => {
    host.setRelease({ refByKey: {}, allowed: ["hf:test/other"] });
    try {
      const refused = await run("not-allowed", "mlp", { x: MLP_X });
      expect(refused.errorType).toBe("validation");
      expect(refused.safeMessage).toContain(
        "model hf:test/tiny (key 'tiny') is not allowed for this release",
      );
    } finally {
      host.setRelease({ refByKey: {}, allowed: [] });
    }
  });
});

describe("model load failures map to the reference error types", () => {
  function withModel(ref: string): Executor {
    const keyspace = { ...manifest.models_by_function?.mlp, tiny: { ref, dtypes: ["fp32" as const] } };
    return new Executor({
      manifest: { ...manifest, models_by_function: { ...manifest.models_by_function, mlp: keyspace } },
      handlers,
      settings: runtimeSettingsFromEnv({}),
      models: host,
    });
  }

  it("a missing repo is fatal, naming the ref and what to check", async () => {
    const result = await withModel("hf:test/missing").run({
      runId: "missing",
      functionName: "mlp",
      payload: { x: MLP_X },
      payloadBytes: 10,
    });
    expect(result).toMatchObject({ success: false, errorType: "fatal", retryable: false });
    expect(result.safeMessage).toContain("model hf:test/missing was not found");
    expect(result.safeMessage).toContain("check the ref and its revision in cozy.toml");
  });

  it("a refused token is auth", async () => {
    hub.requireToken = "secret";
    try {
      const result = await withModel("hf:test/silero-vad").run({
        runId: "auth",
        functionName: "mlp",
        payload: { x: MLP_X },
        payloadBytes: 10,
      });
      expect(result).toMatchObject({ success: false, errorType: "auth", retryable: false });
      expect(result.safeMessage).toContain("set HF_TOKEN");
    } finally {
      hub.requireToken = undefined;
    }
  });

  it("a hub that keeps failing is retryable", async () => {
    hub.faults = { listing503: 100 };
    try {
      const result = await withModel("hf:test/ppocr-det").run({
        runId: "flaky",
        functionName: "mlp",
        payload: { x: MLP_X },
        payloadBytes: 10,
      });
      expect(result).toMatchObject({ success: false, errorType: "retryable", retryable: true });
      const failed = events.filter((e) => e.type === "model.download.failed").map((e) => e.payload);
      expect(failed).toContainEqual({
        model_id: "hf:test/ppocr-det",
        duration_ms: expect.any(Number),
        error_type: "HfHubError",
      });
    } finally {
      hub.faults = {};
    }
  });
});
