import { type Environment, EnvReader, processEnvironment } from "./read.js";

/** A GPU the machine pretends to have (`WORKER_FAKE_GPU_*`), for tests of what the scheduler is told. */
export interface FakeGpu {
  count: number;
  name: string;
  driver: string;
  memoryBytes: number;
}

/** What the worker needs to know about the machine it runs on, beyond what it measures. */
export interface HostSettings {
  /** `PATH`, where `nvidia-smi` is looked up. */
  searchPath?: string;
  fakeGpu?: FakeGpu;
  /** The CUDA version reported to the scheduler: `WORKER_CUDA_VERSION`, `CUDA_VERSION`, `NVIDIA_CUDA_VERSION`. */
  cudaVersion: string;
  /** `LOG_LEVEL` of the structured logs (pino levels). */
  logLevel: string;
}

const GIB = 1024 ** 3;

/** Reads {@link HostSettings} into `reader`, which collects the problems. */
export function readHostSettings(reader: EnvReader): HostSettings {
  const searchPath = reader.text("PATH");
  const fakeGpu = readFakeGpu(reader);
  return {
    ...(searchPath === undefined ? {} : { searchPath }),
    ...(fakeGpu ? { fakeGpu } : {}),
    cudaVersion: reader.firstText("WORKER_CUDA_VERSION", "CUDA_VERSION", "NVIDIA_CUDA_VERSION") ?? "",
    logLevel: reader.text("LOG_LEVEL") ?? "info",
  };
}

/** {@link HostSettings} of an environment. */
export function hostSettingsFromEnv(env: Environment = processEnvironment()): HostSettings {
  const reader = new EnvReader(env);
  const settings = readHostSettings(reader);
  reader.done();
  return settings;
}

/** A fake GPU when `WORKER_FAKE_GPU_COUNT` is a whole number above 0; other values mean none. */
function readFakeGpu(reader: EnvReader): FakeGpu | undefined {
  const count = Number(reader.text("WORKER_FAKE_GPU_COUNT") ?? "0");
  if (!Number.isSafeInteger(count) || count <= 0) return undefined;
  const memory = Number(reader.text("WORKER_FAKE_GPU_MEMORY_BYTES") ?? Number.NaN);
  return {
    count,
    name: reader.text("WORKER_FAKE_GPU_NAME") ?? "FakeGPU",
    driver: reader.text("WORKER_FAKE_GPU_DRIVER") ?? "fake",
    memoryBytes: Number.isSafeInteger(memory) && memory >= 0 ? memory : 24 * GIB,
  };
}
