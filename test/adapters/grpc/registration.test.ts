import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  SchedulerWorkerService,
  type WorkerRegistration,
  type WorkerResources__Output,
} from "../../../src/adapters/grpc/proto.js";
import { buildRegistration } from "../../../src/adapters/grpc/registration.js";
import type { Manifest } from "../../../src/contract/manifest.js";
import type { ModelInventory } from "../../../src/contract/scheduler.js";
import { discover } from "../../../src/discovery/discover.js";
import type { MachineInfo } from "../../../src/host/machine-info.js";
import { GEN_WORKER_VERSION } from "../../../src/host/package.js";
import { type WorkerSettings, workerSettingsFromEnv } from "../../../src/settings/worker.js";
import { canonicalJson } from "../../../src/util/canonical-json.js";

const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const fixtureManifest = (name: string) =>
  JSON.parse(readFileSync(root(`test/fixtures/${name}/expected.json`), "utf8")) as Manifest;

/** The registration as the scheduler receives it: through the real protobuf serializer and back. */
function overTheWire(registration: WorkerRegistration): {
  resources: WorkerResources__Output;
  is_heartbeat: boolean;
} {
  const method = SchedulerWorkerService.ConnectWorker;
  const bytes = method.requestSerialize({ worker_registration: registration });
  const message = method.requestDeserialize(bytes);
  expect(message.msg).toBe("worker_registration");
  const received = message.worker_registration;
  if (!received?.resources) throw new Error("no resources on the wire");
  return { resources: received.resources, is_heartbeat: received.is_heartbeat };
}

const decodeJson = (bytes: Buffer): unknown =>
  JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));

const noModels: ModelInventory = { vramModels: [], diskModels: [] };
const cpuOnly: MachineInfo = { cpuCores: 8, memoryBytes: 16 * 2 ** 30, onnxruntimeVersion: "" };
const withGpu: MachineInfo = {
  cpuCores: 16,
  memoryBytes: 128 * 2 ** 30,
  onnxruntimeVersion: "1.29.0",
  gpu: {
    count: 2,
    name: "NVIDIA H100 80GB HBM3",
    driver: "550.54.15",
    memoryBytes: 80 * 2 ** 30,
    usedBytes: 3 * 2 ** 30,
    freeBytes: 76 * 2 ** 30,
    sm: "90",
    cudaVersion: "12.4.1",
  },
};

describe("buildRegistration", () => {
  let hello: Manifest;
  let settings: WorkerSettings;

  beforeAll(async () => {
    hello = (await discover(root("examples/hello"))).manifest;
    settings = workerSettingsFromEnv({
      WORKER_JWT: "t",
      RUNPOD_POD_ID: "pod-42",
      WORKER_MAX_CONCURRENCY: "3",
    });
  });

  /** The registration of a CPU-only machine with no models, idle, not a heartbeat. */
  const idleOnCpu = (manifest: Manifest) =>
    buildRegistration({
      manifest,
      machine: cpuOnly,
      settings,
      models: noModels,
      gpuBusy: false,
      isHeartbeat: false,
    });

  it("fills every WorkerResources field for examples/hello on a CPU-only machine", () => {
    const registration = idleOnCpu(hello);
    const { resources, is_heartbeat } = overTheWire(registration);
    expect(is_heartbeat).toBe(false);
    const { function_schemas, ...rest } = resources;
    expect(rest).toEqual({
      worker_id: "",
      cpu_cores: 8,
      memory_bytes: 16 * 2 ** 30,
      gpu_count: 0,
      gpu_memory_bytes: 0,
      available_functions: ["hello", "words", "card"],
      vram_models: [],
      supports_model_loading: false,
      release_id: "",
      runpod_pod_id: "pod-42",
      gpu_is_busy: false,
      gpu_memory_used_bytes: 0,
      gpu_name: "",
      gpu_driver: "",
      gpu_memory_free_bytes: 0,
      max_concurrency: 3,
      function_concurrency: {},
      cuda_version: "",
      torch_version: "",
      gpu_sm: "",
      tensorrt_version: "",
      onnxruntime_version: "",
      disk_models: [],
      installed_libs: [`gen-worker==${GEN_WORKER_VERSION}`, `node==${process.versions.node}`],
    });
    expect(function_schemas.map((schema) => schema.name)).toEqual(hello.functions.map((fn) => fn.name));
  });

  it("sends each function's schemas as compact, key-sorted UTF-8 JSON that decodes to the manifest's", () => {
    const { resources } = overTheWire(idleOnCpu(hello));
    expect(resources.function_schemas).toHaveLength(hello.functions.length);
    for (const [index, fn] of hello.functions.entries()) {
      const schema = resources.function_schemas[index];
      if (!schema) throw new Error(`no schema for ${fn.name}`);
      expect(schema.name).toBe(fn.name);
      expect(decodeJson(schema.input_schema_json)).toEqual(fn.input_schema);
      expect(decodeJson(schema.output_schema_json)).toEqual(fn.output_schema);
      expect(schema.input_schema_json.toString("utf8")).toBe(canonicalJson(fn.input_schema));
      expect(schema.output_schema_json.toString("utf8")).toBe(canonicalJson(fn.output_schema));
      expect(schema.injection_json.toString("utf8")).toBe("[]");
      expect(schema.incremental_output).toBe(fn.incremental_output);
    }
  });

  it("fills delta_schema_json for the streaming function only", () => {
    const { resources } = overTheWire(idleOnCpu(hello));
    const byName = new Map(resources.function_schemas.map((schema) => [schema.name, schema]));
    const words = hello.functions.find((fn) => fn.name === "words");
    expect(words?.incremental_output).toBe(true);
    expect(words?.delta_output_schema).toBeDefined();
    expect(byName.get("words")?.incremental_output).toBe(true);
    expect(decodeJson(byName.get("words")?.delta_schema_json ?? Buffer.alloc(0))).toEqual(
      words?.delta_output_schema,
    );
    expect(byName.get("hello")?.delta_schema_json).toHaveLength(0);
    expect(byName.get("card")?.delta_schema_json).toHaveLength(0);
  });

  it("reports the GPU, models, busy state and versions of a GPU machine", () => {
    const registration = buildRegistration({
      manifest: hello,
      machine: withGpu,
      settings,
      models: { vramModels: ["cozy:o/a:v1"], diskModels: ["cozy:o/a:v1", "hf:o/b"] },
      gpuBusy: true,
      isHeartbeat: true,
      supportsModelLoading: true,
    });
    const { resources, is_heartbeat } = overTheWire(registration);
    expect(is_heartbeat).toBe(true);
    expect(resources).toMatchObject({
      cpu_cores: 16,
      memory_bytes: 128 * 2 ** 30,
      gpu_count: 2,
      gpu_memory_bytes: 80 * 2 ** 30,
      gpu_memory_used_bytes: 4 * 2 ** 30, // total − free, not nvidia-smi's "used"
      gpu_memory_free_bytes: 76 * 2 ** 30,
      gpu_name: "NVIDIA H100 80GB HBM3",
      gpu_driver: "550.54.15",
      gpu_sm: "90",
      cuda_version: "12.4.1",
      gpu_is_busy: true,
      supports_model_loading: true,
      vram_models: ["cozy:o/a:v1"],
      disk_models: ["cozy:o/a:v1", "hf:o/b"],
      onnxruntime_version: "1.29.0",
      installed_libs: [
        `gen-worker==${GEN_WORKER_VERSION}`,
        `node==${process.versions.node}`,
        "onnxruntime-node==1.29.0",
      ],
    });
  });

  it("lists per-function concurrency limits", () => {
    const manifest = fixtureManifest("max-concurrency");
    const { resources } = overTheWire(idleOnCpu(manifest));
    expect(resources.function_concurrency).toEqual({ upscale: 2 });
  });

  it("sends the model injections as a JSON array", () => {
    const manifest = fixtureManifest("model-injection");
    const { resources } = overTheWire(idleOnCpu(manifest));
    const fn = manifest.functions[0];
    const schema = resources.function_schemas[0];
    expect(fn?.injection_json.length).toBeGreaterThan(0);
    expect(decodeJson(schema?.injection_json ?? Buffer.alloc(0))).toEqual(fn?.injection_json);
    expect(schema?.injection_json.toString("utf8")).toBe(canonicalJson(fn?.injection_json));
  });

  it("does not share arrays with the inventory it was given", () => {
    const models = { vramModels: ["a"], diskModels: ["b"] };
    const registration = buildRegistration({
      manifest: hello,
      machine: cpuOnly,
      settings,
      models,
      gpuBusy: false,
      isHeartbeat: false,
    });
    models.vramModels.push("later");
    models.diskModels.push("later");
    expect(registration.resources?.vram_models).toEqual(["a"]);
    expect(registration.resources?.disk_models).toEqual(["b"]);
  });
});
