import { copyFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { type InferenceSession, Tensor } from "onnxruntime-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../../../src/contract/events.js";
import type { Manifest } from "../../../src/contract/manifest.js";
import { discover } from "../../../src/discovery/discover.js";
import { createModelHost, type ModelHost } from "../../../src/models/host/model-host.js";
import { GIB } from "../../../src/models/sessions/device-cache.js";
import { defaultSessionFactory, type SessionFactory } from "../../../src/models/sessions/session-factory.js";
import { Executor, type HandlerTable } from "../../../src/runtime/executor.js";
import { modelSettingsFromEnv } from "../../../src/settings/models.js";
import { runtimeSettingsFromEnv } from "../../../src/settings/runtime.js";
import { lineImage } from "../../projects/serving/src/input.js";
import { createBareSession } from "../../support/bare-session.js";
import { type FakeHfHub, startFakeHfHub } from "../../support/fake-hf-hub.js";
import { tempDir } from "../../support/hub-repos.js";
import { MLP_X, PPOCR_CLS, writeModelRepos } from "../../support/model-repos.js";
import { tinyModelExpected } from "../../support/onnx/tiny-model.js";

const PROJECT = join(import.meta.dirname, "../../projects/serving");
const quiet = pino({ level: "silent" });

let root: string;
let cacheDir: string;
let hub: FakeHfHub;
let manifest: Manifest;
let direct: InferenceSession;
const events: RunEvent[] = [];
/** Every `run` of a session the host created, in order, with the model event count at the time. */
const runs: { path: string; eventsBefore: number }[] = [];

/** Real sessions, observed: each run is recorded before it reaches ONNX Runtime. */
function observing(base: SessionFactory): SessionFactory {
  return async (path, spec) => {
    const session = await base(path, spec);
    return new Proxy(session, {
      get(target, property) {
        if (property === "run") {
          return (...args: unknown[]) => {
            runs.push({ path, eventsBefore: events.length });
            return (target.run as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
}

async function makeHost(env: Record<string, string> = {}): Promise<{ host: ModelHost; executor: Executor }> {
  const host = createModelHost({
    settings: modelSettingsFromEnv({
      WORKER_MODEL_CACHE_DIR: cacheDir,
      HF_ENDPOINT: hub.endpoint,
      WORKER_ORT_PROVIDERS: "cpu",
      ...env,
    }),
    machine: { memoryBytes: 8 * GIB },
    log: quiet,
    manifest,
    onEvent: (event) => events.push(event),
    sessionFactory: observing(defaultSessionFactory({ providers: ["cpu"], log: quiet })),
  });
  const handlers: HandlerTable = {
    classify: async (_ctx: unknown, input: { seed: number }, cls: { session: InferenceSession }) => {
      const out = await cls.session.run({ x: new Tensor("float32", lineImage(input.seed), [1, 3, 48, 192]) });
      return { scores: Array.from(Object.values(out)[0]?.data as Float32Array) };
    },
    mlp: async (_ctx: unknown, input: { x: number[] }, tiny: { session: InferenceSession }) => {
      const X = new Tensor("float32", Float32Array.from(input.x), [input.x.length / 4, 4]);
      return { y: Array.from((await tiny.session.run({ X })).Y?.data as Float32Array) };
    },
  } as HandlerTable;
  const executor = new Executor({
    manifest,
    handlers,
    settings: runtimeSettingsFromEnv({}),
    onEvent: (event) => events.push(event),
    models: host,
  });
  return { host, executor };
}

async function expected(seed: number): Promise<number[]> {
  const out = await direct.run({ x: new Tensor("float32", lineImage(seed), [1, 3, 48, 192]) });
  return Array.from(Object.values(out)[0]?.data as Float32Array);
}

function metricsOf(runId: string) {
  return events.find((e) => e.runId === runId && e.type === "metrics.run")?.payload as {
    models?: { model_id: string; batch_sizes?: number[] }[];
  };
}

beforeAll(async () => {
  root = await tempDir("serving-hub-");
  cacheDir = await tempDir("serving-cache-");
  await writeModelRepos(root);
  await mkdir(join(root, "test/ppocr-cls/onnx"), { recursive: true });
  await copyFile(PPOCR_CLS, join(root, "test/ppocr-cls/onnx/model.onnx"));
  hub = await startFakeHfHub(root);
  manifest = (await discover(PROJECT)).manifest;
  direct = await createBareSession(PPOCR_CLS);
});

afterAll(async () => {
  await direct?.release();
  await hub?.close();
  await rm(root, { recursive: true, force: true });
  await rm(cacheDir, { recursive: true, force: true });
});

describe("cozy.toml batch and cuda settings reach the manifest", () => {
  it("lists which models batch in models_by_function, with their CUDA options", () => {
    expect(manifest.models_by_function?.classify).toEqual({
      cls: { ref: "hf:test/ppocr-cls", dtypes: ["fp32"], batch: { max_size: 8, max_wait_ms: 300 } },
      tiny: {
        ref: "hf:test/tiny",
        dtypes: ["fp32"],
        cuda: { cudnn_conv_algo_search: "HEURISTIC", use_tf32: false },
      },
    });
  });
});

describe("dynamic batching through the executor and the model host", () => {
  let host: ModelHost;
  let executor: Executor;

  beforeAll(async () => {
    ({ host, executor } = await makeHost());
  });

  afterAll(async () => {
    await host.close();
  });

  it("warms each new session with a synthetic run before the model is reported loaded", async () => {
    await host.loadModel("hf:test/ppocr-cls");
    const completed = events.find((e) => e.type === "model.load.completed");
    const index = events.indexOf(completed as RunEvent);
    expect(completed?.payload).toMatchObject({
      model_id: "hf:test/ppocr-cls",
      warmup_ms: expect.any(Number),
    });
    const warmups = runs.filter((run) => run.path.includes("ppocr-cls"));
    expect(warmups).toHaveLength(1);
    // The warm-up ran while fewer events than the completion's index had been sent: before it.
    expect(warmups[0]?.eventsBefore).toBeLessThanOrEqual(index);
  });

  it("runs 8 concurrent runs as one ONNX Runtime call; each gets its own exact scores; metrics say 8", async () => {
    const before = runs.length;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        executor.run({
          runId: `b${i}`,
          functionName: "classify",
          payload: { seed: i + 1 },
          payloadBytes: 10,
        }),
      ),
    );
    expect(runs.length - before).toBe(1);
    for (const [i, result] of results.entries()) {
      expect(result.success).toBe(true);
      const scores = (result.output as { scores: number[] }).scores;
      const want = await expected(i + 1);
      expect(scores).toHaveLength(2);
      for (const [j, value] of scores.entries())
        expect(Math.abs(value - (want[j] as number))).toBeLessThan(1e-5);
      expect(metricsOf(`b${i}`).models).toEqual([
        expect.objectContaining({ model_id: "hf:test/ppocr-cls", cache_state: "hot_vram", batch_sizes: [8] }),
      ]);
    }
  });

  it("takes a canceled run out of its pending batch; the others run together without it", async () => {
    const before = runs.length;
    const pending = [1, 2, 3].map((i) =>
      executor.run({ runId: `c${i}`, functionName: "classify", payload: { seed: 40 + i }, payloadBytes: 10 }),
    );
    await new Promise((done) => setTimeout(done, 50));
    expect(executor.cancel("c2")).toBe(true);
    const [first, canceled, third] = await Promise.all(pending);
    expect(canceled).toMatchObject({ success: false, errorType: "canceled" });
    expect(first?.success && third?.success).toBe(true);
    expect(runs.length - before).toBe(1);
    expect(metricsOf("c1").models?.[0]?.batch_sizes).toEqual([2]);
    expect(metricsOf("c3").models?.[0]?.batch_sizes).toEqual([2]);
    expect((first?.output as { scores: number[] } | undefined)?.scores[0]).toBeCloseTo(
      (await expected(41))[0] as number,
      5,
    );
  });

  it("leaves keys without batch alone: no batch_sizes, plain runs", async () => {
    const result = await executor.run({
      runId: "m1",
      functionName: "mlp",
      payload: { x: MLP_X },
      payloadBytes: 10,
    });
    expect((result.output as { y: number[] }).y).toEqual(Array.from(tinyModelExpected(MLP_X)));
    expect(metricsOf("m1").models?.[0]).not.toHaveProperty("batch_sizes");
  });
});

describe("warm-up can be turned off", () => {
  it("WORKER_MODEL_WARMUP=0: no synthetic run, no warmup_ms", async () => {
    const { host } = await makeHost({ WORKER_MODEL_WARMUP: "0" });
    try {
      const before = runs.length;
      await host.loadModel("hf:test/tiny-b");
      expect(runs.length).toBe(before);
      const completed = events.filter((e) => e.type === "model.load.completed").at(-1);
      expect(completed?.payload).toEqual({
        model_id: "hf:test/tiny-b",
        duration_ms: expect.any(Number),
        error_type: "",
      });
    } finally {
      await host.close();
    }
  });
});
