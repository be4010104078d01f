import type { Manifest, ManifestFunction } from "../../contract/manifest.js";
import type { ModelInventory } from "../../contract/scheduler.js";
import type { MachineInfo } from "../../host/machine-info.js";
import { GEN_WORKER_VERSION } from "../../host/package.js";
import type { WorkerSettings } from "../../settings/worker.js";
import { canonicalJson } from "../../util/canonical-json.js";
import type { FunctionSchema, WorkerRegistration, WorkerResources } from "./proto.js";

export interface RegistrationInput {
  manifest: Manifest;
  machine: MachineInfo;
  settings: WorkerSettings;
  models: ModelInventory;
  gpuBusy: boolean;
  isHeartbeat: boolean;
  /** Whether the worker obeys `load_model_cmd` / `unload_model_cmd` (default false). */
  supportsModelLoading?: boolean;
  /**
   * Set when the model host ran out of device memory since the last registration: the GPU memory
   * fields then give what was read right after (used = total and free = 0 when it could not be read).
   */
  outOfMemory?: { memory?: { usedBytes: number; freeBytes: number } } | undefined;
}

/**
 * The `WorkerRegistration` sent when the stream opens (`isHeartbeat` false) and as the heartbeat,
 * with every `WorkerResources` field filled from what the worker actually has.
 * Identity travels in the JWT, so `worker_id` and `release_id` are empty.
 */
export function buildRegistration(input: RegistrationInput): WorkerRegistration {
  const { manifest, machine, settings, models } = input;
  const gpu = machine.gpu;
  const oom =
    gpu && input.outOfMemory
      ? (input.outOfMemory.memory ?? { usedBytes: gpu.memoryBytes, freeBytes: 0 })
      : undefined;
  const resources: WorkerResources = {
    worker_id: "",
    cpu_cores: machine.cpuCores,
    memory_bytes: machine.memoryBytes,
    gpu_count: gpu?.count ?? 0,
    gpu_memory_bytes: gpu?.memoryBytes ?? 0,
    // Realtime handlers are offered by name; they have no schemas, so function_schemas leaves them out.
    available_functions: [
      ...manifest.functions.map((fn) => fn.name),
      ...(manifest.realtime_functions ?? []).map((fn) => fn.name),
    ],
    vram_models: [...models.vramModels],
    supports_model_loading: input.supportsModelLoading ?? false,
    release_id: "",
    runpod_pod_id: settings.runpodPodId,
    gpu_is_busy: input.gpuBusy,
    gpu_memory_used_bytes: oom ? oom.usedBytes : gpu ? Math.max(0, gpu.memoryBytes - gpu.freeBytes) : 0,
    gpu_name: gpu?.name ?? "",
    gpu_driver: gpu?.driver ?? "",
    gpu_memory_free_bytes: oom ? oom.freeBytes : (gpu?.freeBytes ?? 0),
    max_concurrency: settings.runtime.maxConcurrency,
    function_concurrency: functionConcurrency(manifest.functions),
    cuda_version: gpu?.cudaVersion ?? "",
    torch_version: "",
    function_schemas: manifest.functions.map(functionSchema),
    gpu_sm: gpu?.sm ?? "",
    tensorrt_version: "",
    onnxruntime_version: machine.onnxruntimeVersion,
    disk_models: [...models.diskModels],
    installed_libs: installedLibs(machine),
  };
  return { resources, is_heartbeat: input.isHeartbeat };
}

function functionConcurrency(functions: ManifestFunction[]): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const fn of functions) {
    const limit = fn.resources.max_concurrency;
    if (typeof limit === "number" && limit > 0) limits[fn.name] = limit;
  }
  return limits;
}

/**
 * Schemas as compact, key-sorted UTF-8 JSON. Unlike the Python SDK, streaming functions also carry
 * their delta schema in `delta_schema_json`; it is empty for single-output functions.
 */
function functionSchema(fn: ManifestFunction): FunctionSchema {
  const deltaSchema = fn.incremental_output ? fn.delta_output_schema : undefined;
  return {
    name: fn.name,
    input_schema_json: jsonBytes(fn.input_schema),
    output_schema_json: jsonBytes(fn.output_schema),
    injection_json: jsonBytes(fn.injection_json),
    incremental_output: fn.incremental_output,
    delta_schema_json: deltaSchema ? jsonBytes(deltaSchema) : Buffer.alloc(0),
  };
}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), "utf8");
}

function installedLibs(machine: MachineInfo): string[] {
  const libs = [`gen-worker==${GEN_WORKER_VERSION}`];
  if (machine.onnxruntimeVersion) libs.push(`onnxruntime-node==${machine.onnxruntimeVersion}`);
  libs.push(`node==${process.versions.node}`);
  return libs.sort();
}
