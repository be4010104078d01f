import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type InferenceSession, Tensor } from "onnxruntime-node";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readMachineInfo } from "../../../src/host/machine-info.js";
import {
  DeviceCache,
  deviceBudget,
  estimateModelBytes,
  GIB,
  InsufficientDeviceMemoryError,
  loadAndMeasure,
  ModelNotLoadedError,
  type ReleasableSession,
} from "../../../src/models/sessions/device-cache.js";
import { createSession } from "../../../src/models/sessions/execution-providers.js";
import { hostSettingsFromEnv } from "../../../src/settings/host.js";
import { modelSettingsFromEnv } from "../../../src/settings/models.js";
import { EnvironmentError } from "../../../src/settings/read.js";
import { tinyModelExpected, writeTinyModel } from "../../support/onnx/tiny-model.js";

/** The budget a worker started with `env` gives itself on `machine`. */
const budgetFor = (env: Record<string, string>, machine: Parameters<typeof deviceBudget>[1]) =>
  deviceBudget(modelSettingsFromEnv(env).budget, machine);

/** A real session whose release is recorded before it is passed on. */
class ObservedSession implements ReleasableSession {
  released = false;
  constructor(
    readonly name: string,
    readonly inner: InferenceSession,
  ) {}

  async release(): Promise<void> {
    this.released = true;
    await this.inner.release();
  }
}

const quietLog = pino({ level: "silent" });
const X = Float32Array.from([0.5, -1, 2, 1, 3, 0, -0.5, 0.25]);

async function runTiny(session: InferenceSession): Promise<Float32Array> {
  const out = await session.run({ X: new Tensor("float32", X, [2, 4]) });
  return out.Y?.data as Float32Array;
}

function expectTinyOutput(actual: Float32Array): void {
  const expected = tinyModelExpected(X);
  for (const [i, value] of expected.entries()) expect(actual[i]).toBeCloseTo(value, 5);
}

let dir: string;
let modelBytes: number;
const paths: Record<string, string> = {};
const open: ObservedSession[] = [];

async function load(name: string): Promise<{ session: ObservedSession; sizeBytes: number }> {
  const path = paths[name];
  if (path === undefined) throw new Error(`no model ${name}`);
  const { session } = await createSession(path, ["cpu"], quietLog);
  const observed = new ObservedSession(name, session);
  open.push(observed);
  return { session: observed, sizeBytes: await estimateModelBytes([path]) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ort-cache-"));
  modelBytes = await writeTinyModel(join(dir, "a.onnx"));
  paths.a = join(dir, "a.onnx");
  for (const name of ["b", "c"]) {
    paths[name] = join(dir, `${name}.onnx`);
    await copyFile(join(dir, "a.onnx"), join(dir, `${name}.onnx`));
  }
});

afterEach(async () => {
  for (const session of open.splice(0)) if (!session.released) await session.release();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("DeviceCache with real sessions (budget fits two of three models)", () => {
  it("evicts the least recently used unpinned model, never a pinned one, and releases its session", async () => {
    const cache = new DeviceCache<ObservedSession>({ budgetBytes: 2 * modelBytes + 100 });
    const a = await load("a");
    const b = await load("b");
    const c = await load("c");

    expect(await cache.markLoadedToVram("a", { model: a.session }, a.sizeBytes)).toEqual({
      evicted: [],
      freedBytes: 0,
    });
    const pinnedA = cache.acquire("a");
    expectTinyOutput(await runTiny(pinnedA.model?.inner as InferenceSession));
    await cache.markLoadedToVram("b", { model: b.session }, b.sizeBytes);
    expect(cache.getVramModels()).toEqual(["a", "b"]);

    // a is the least recently used but pinned: b goes.
    const report = await cache.markLoadedToVram("c", { model: c.session }, c.sizeBytes);
    expect(report.evicted.map((e) => e.modelId)).toEqual(["b"]);
    expect(report.freedBytes).toBe(modelBytes);
    expect(report.evicted[0]?.releaseErrors).toEqual([]);
    expect(b.session.released).toBe(true);
    await expect(runTiny(b.session.inner)).rejects.toThrow(/disposed/);
    expect(a.session.released).toBe(false);
    expectTinyOutput(await runTiny(a.session.inner));
    expect(cache.isInVram("b")).toBe(false);
    expect(() => cache.acquire("b")).toThrow(ModelNotLoadedError);
    expect(cache.getVramModels()).toEqual(["a", "c"]);

    // a is released, c is pinned: reloading b evicts a.
    cache.release("a");
    const pinnedC = cache.acquire("c");
    const b2 = await load("b");
    const second = await cache.markLoadedToVram("b", { model: b2.session }, b2.sizeBytes);
    expect(second.evicted.map((e) => e.modelId)).toEqual(["a"]);
    expect(a.session.released).toBe(true);
    await expect(runTiny(a.session.inner)).rejects.toThrow(/disposed/);
    expect(c.session.released).toBe(false);
    expectTinyOutput(await runTiny(pinnedC.model?.inner as InferenceSession));
    expect(cache.getVramModels()).toEqual(["c", "b"]);
    expect(cache.usedBytes).toBe(2 * modelBytes);
    cache.release("c");
  });

  it("refuses a load that cannot fit beside pinned models, evicting nothing", async () => {
    const cache = new DeviceCache<ObservedSession>({ budgetBytes: 2 * modelBytes + 100 });
    const a = await load("a");
    const b = await load("b");
    const c = await load("c");
    await cache.markLoadedToVram("a", { model: a.session }, a.sizeBytes);
    await cache.markLoadedToVram("b", { model: b.session }, b.sizeBytes);
    cache.acquire("a");
    cache.acquire("b");
    expect(cache.canFit(c.sizeBytes)).toBe(false);
    const error = await cache
      .markLoadedToVram("c", { model: c.session }, c.sizeBytes)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsufficientDeviceMemoryError);
    expect((error as Error).message).toMatch(
      /^insufficient_vram: model c needs 237 bytes .*in use, not evictable: a, b/,
    );
    expect(cache.getVramModels()).toEqual(["a", "b"]);
    expect([a, b, c].map((m) => m.session.released)).toEqual([false, false, false]);
    cache.release("b");
    expect(cache.canFit(c.sizeBytes)).toBe(true);
    const report = await cache.makeRoom(c.sizeBytes, "c");
    expect(report.evicted.map((e) => e.modelId)).toEqual(["b"]);
    expect(b.session.released).toBe(true);
  });

  it("refuses to unload a pinned model, and releases its sessions once it is free", async () => {
    const cache = new DeviceCache<ObservedSession>({ budgetBytes: 10 * modelBytes });
    const a = await load("a");
    const b = await load("b");
    await cache.markLoadedToVram(
      "pair",
      { encoder_model: a.session, decoder_model: b.session },
      2 * modelBytes,
    );
    const sessions = cache.acquire("pair");
    cache.acquire("pair");
    expect(Object.keys(sessions)).toEqual(["encoder_model", "decoder_model"]);
    expect(await cache.unload("pair")).toEqual({
      unloaded: false,
      reason: "in_use",
      message: "cannot unload model pair: it is in use by 2 runs",
    });
    cache.release("pair");
    expect((await cache.unload("pair")).unloaded).toBe(false);
    cache.release("pair");
    expect(() => cache.release("pair")).toThrow("model pair is not acquired");
    expect(await cache.unload("pair")).toEqual({
      unloaded: true,
      freedBytes: 2 * modelBytes,
      releaseErrors: [],
    });
    expect(a.session.released && b.session.released).toBe(true);
    expect(cache.stats().usedBytes).toBe(0);
    expect(await cache.unload("pair")).toEqual({
      unloaded: false,
      reason: "not_loaded",
      message: "model pair is not loaded",
    });
  });

  it("reports a release that throws without keeping the entry", async () => {
    const cache = new DeviceCache<ObservedSession>({ budgetBytes: modelBytes });
    const a = await load("a");
    const b = await load("b");
    await cache.markLoadedToVram("a", { model: a.session }, a.sizeBytes);
    await a.session.inner.release(); // released behind the cache's back: the second release throws
    const report = await cache.markLoadedToVram("b", { model: b.session }, b.sizeBytes);
    expect(report.evicted[0]?.modelId).toBe("a");
    expect(report.evicted[0]?.releaseErrors[0]).toMatch(/disposed/);
    expect(cache.getVramModels()).toEqual(["b"]);
  });
});

describe("DeviceCache bookkeeping (reference ModelCache behaviours)", () => {
  it("evicts 5 GB of 15 used in a 20 GB budget when 10 GB are needed; stats rounded like to_dict", async () => {
    const cache = new DeviceCache<ObservedSession>({ budgetBytes: 20 * GIB, device: "gpu" });
    for (const name of ["a", "b", "c"]) {
      const { session } = await load(name);
      await cache.markLoadedToVram(name, { model: session }, 5 * GIB);
    }
    cache.acquire("a");
    cache.release("a"); // a is now the most recently used
    expect(cache.getVramModels()).toEqual(["b", "c", "a"]);
    const { session: d } = await load("a");
    const report = await cache.markLoadedToVram("d", { model: d }, 10 * GIB);
    expect(report.evicted.map((e) => e.modelId)).toEqual(["b"]);
    expect(report.freedBytes).toBe(5 * GIB);
    expect(cache.stats()).toEqual({
      device: "gpu",
      vramModels: ["c", "a", "d"],
      vramModelCount: 3,
      pinnedModels: [],
      usedBytes: 20 * GIB,
      budgetBytes: 20 * GIB,
      freeBytes: 0,
      vramUsedGb: 20,
      vramTotalGb: 20,
      vramAvailableGb: 0,
    });
    await cache.unload("d");
    const stats = cache.stats();
    expect([stats.vramUsedGb, stats.vramAvailableGb]).toEqual([10, 10]);

    const odd = new DeviceCache<ObservedSession>({ budgetBytes: Math.round(7.456 * GIB) });
    const { session } = await load("b");
    await odd.markLoadedToVram("x", { model: session }, Math.round(1.234 * GIB));
    expect(odd.stats()).toMatchObject({ vramUsedGb: 1.23, vramTotalGb: 7.46, vramAvailableGb: 6.22 });
  });

  it("reloading a model replaces and releases its old sessions, and is refused while it is pinned", async () => {
    const cache = new DeviceCache<ObservedSession>({ budgetBytes: 10 * modelBytes });
    const first = await load("a");
    const second = await load("a");
    await cache.markLoadedToVram("m", { model: first.session }, modelBytes);
    cache.acquire("m");
    await expect(cache.markLoadedToVram("m", { model: second.session }, modelBytes)).rejects.toThrow(
      "cannot reload model m: it is in use by 1 run",
    );
    cache.release("m");
    await cache.markLoadedToVram("m", { model: second.session }, 2 * modelBytes);
    expect(first.session.released).toBe(true);
    expect(second.session.released).toBe(false);
    expect(cache.usedBytes).toBe(2 * modelBytes);
    expect(cache.getVramModels()).toEqual(["m"]);
  });

  it("rejects bad sizes and budgets", async () => {
    expect(() => new DeviceCache({ budgetBytes: -1 })).toThrow(RangeError);
    const cache = new DeviceCache({ budgetBytes: 10 });
    await expect(cache.makeRoom(Number.NaN)).rejects.toThrow(RangeError);
  });
});

describe("budget from the environment", () => {
  const cpuMachine = { memoryBytes: 24 * GIB };
  const gpuMachine = {
    memoryBytes: 128 * GIB,
    gpu: {
      count: 1,
      name: "H100",
      driver: "580",
      memoryBytes: 24 * GIB,
      usedBytes: 0,
      freeBytes: 24 * GIB,
      sm: "90",
      cudaVersion: "",
    },
  };

  it("WORKER_MAX_VRAM_GB wins", () => {
    expect(budgetFor({ WORKER_MAX_VRAM_GB: "16" }, gpuMachine)).toEqual({
      budgetBytes: 16 * GIB,
      device: "gpu",
      source: "WORKER_MAX_VRAM_GB",
    });
    expect(budgetFor({ WORKER_MAX_VRAM_GB: "1.5" }, cpuMachine)).toEqual({
      budgetBytes: 1.5 * GIB,
      device: "cpu",
      source: "WORKER_MAX_VRAM_GB",
    });
  });

  it("with a GPU: total minus the safety margin (default 3.5 GB), clamped at 0", () => {
    expect(budgetFor({}, gpuMachine)).toEqual({
      budgetBytes: 20.5 * GIB,
      device: "gpu",
      source: "gpu_total_minus_margin",
    });
    expect(budgetFor({ WORKER_VRAM_SAFETY_MARGIN_GB: "2.5" }, gpuMachine).budgetBytes).toBe(21.5 * GIB);
    expect(budgetFor({ WORKER_VRAM_SAFETY_MARGIN_GB: "0" }, gpuMachine).budgetBytes).toBe(24 * GIB);
    expect(budgetFor({ WORKER_VRAM_SAFETY_MARGIN_GB: "30" }, gpuMachine).budgetBytes).toBe(0);
  });

  it("without a GPU: WORKER_MAX_RAM_SESSION_GB, else half of the memory", () => {
    expect(budgetFor({ WORKER_MAX_RAM_SESSION_GB: "4" }, cpuMachine)).toEqual({
      budgetBytes: 4 * GIB,
      device: "cpu",
      source: "WORKER_MAX_RAM_SESSION_GB",
    });
    expect(budgetFor({ WORKER_VRAM_SAFETY_MARGIN_GB: "1" }, cpuMachine)).toEqual({
      budgetBytes: 12 * GIB,
      device: "cpu",
      source: "half_of_ram",
    });
  });

  it("reports every malformed value at once", () => {
    const env = {
      WORKER_MAX_VRAM_GB: "lots",
      WORKER_VRAM_SAFETY_MARGIN_GB: "-1",
      WORKER_MAX_RAM_SESSION_GB: "2",
    };
    const error = (() => {
      try {
        budgetFor(env, cpuMachine);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).problems).toEqual([
      'WORKER_MAX_VRAM_GB must be a non-negative number of GB, got "lots"',
      'WORKER_VRAM_SAFETY_MARGIN_GB must be a non-negative number of GB, got "-1"',
    ]);
  });

  it("sizes the budget of this machine, which has no GPU", async () => {
    const machine = await readMachineInfo(hostSettingsFromEnv({ PATH: "/nonexistent" }));
    const budget = budgetFor({}, machine);
    expect(budget.device).toBe("cpu");
    expect(budget.source).toBe("half_of_ram");
    expect(budget.budgetBytes).toBeGreaterThan(0);
    const explicit = budgetFor({ WORKER_MAX_VRAM_GB: "2" }, machine);
    const cache = new DeviceCache({ budgetBytes: explicit.budgetBytes, device: explicit.device });
    expect(cache.stats()).toMatchObject({ budgetBytes: 2 * GIB, vramTotalGb: 2, vramModelCount: 0 });
  });
});

describe("model size", () => {
  it("is the sum of the files' sizes on CPU", async () => {
    expect(await estimateModelBytes([paths.a ?? "", paths.b ?? ""])).toBe(2 * modelBytes);
    const measured = await loadAndMeasure(
      await estimateModelBytes([paths.a ?? ""]),
      () => createSession(paths.a ?? "", ["cpu"], quietLog),
      "cpu",
    );
    expect(measured).toMatchObject({ sizeBytes: modelBytes, measured: false });
    expectTinyOutput(await runTiny(measured.value.session));
    await measured.value.session.release();
  });
});
