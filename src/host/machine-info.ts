import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

/** GPU device 0 as nvidia-smi reports it (or as WORKER_FAKE_GPU_* fakes it). */
export interface GpuInfo {
  count: number;
  name: string;
  /** The NVIDIA driver version (the reference put the CUDA runtime version here). */
  driver: string;
  memoryBytes: number;
  usedBytes: number;
  freeBytes: number;
  /** Compute capability as major·10+minor, e.g. "89"; "" when unknown. */
  sm: string;
  cudaVersion: string;
}

/** What the worker reports about its machine in every registration. */
export interface MachineInfo {
  cpuCores: number;
  memoryBytes: number;
  gpu?: GpuInfo;
  /** The installed `onnxruntime-node` version, "" when it is not installed. */
  onnxruntimeVersion: string;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const NVIDIA_SMI_TIMEOUT_MS = 5000;
export const NVIDIA_SMI_ARGS = [
  "--query-gpu=name,driver_version,memory.total,memory.used,memory.free,compute_cap",
  "--format=csv,noheader,nounits",
] as const;

/**
 * Reads the machine: CPU count, memory (the container's limit when lower than the host's RAM), GPU
 * device 0 through nvidia-smi (the binary is looked up on `env.PATH`), the onnxruntime-node version.
 * Never throws: a missing or failing nvidia-smi means no GPU.
 */
export async function readMachineInfo(env: NodeJS.ProcessEnv): Promise<MachineInfo> {
  const info: MachineInfo = {
    cpuCores: availableParallelism(),
    memoryBytes: memoryBytes(),
    onnxruntimeVersion: onnxruntimeVersion(),
  };
  const gpu = fakeGpu(env) ?? (await queryNvidiaSmi(env));
  if (gpu) info.gpu = { ...gpu, cudaVersion: cudaVersion(env) };
  return info;
}

/**
 * Parses `nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,memory.free,compute_cap
 * --format=csv,noheader,nounits`: device 0 from the first line, `count` = number of lines, MiB
 * turned into bytes, `[N/A]` and other unreadable numbers as 0. `undefined` when there is no device line.
 */
export function parseNvidiaSmi(csv: string): Omit<GpuInfo, "cudaVersion"> | undefined {
  const lines = csv
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  const first = lines[0];
  if (first === undefined) return undefined;
  const fields = first.split(",").map((field) => field.trim());
  if (fields.length < 6) return undefined;
  const [name = "", driver = "", total, used, free, computeCap = ""] = fields;
  const memoryBytes = mibToBytes(total);
  const freeBytes = mibToBytes(free);
  return {
    count: lines.length,
    name,
    driver: isUnknown(driver) ? "" : driver,
    memoryBytes,
    usedBytes: mibToBytes(used),
    freeBytes,
    sm: /^\d+\.\d+$/.test(computeCap) ? computeCap.replace(".", "") : "",
  };
}

function mibToBytes(value: string | undefined): number {
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value)) return 0;
  return Math.round(Number(value) * MIB);
}

function isUnknown(value: string): boolean {
  return /^\[.*\]$/.test(value);
}

function queryNvidiaSmi(env: NodeJS.ProcessEnv): Promise<Omit<GpuInfo, "cudaVersion"> | undefined> {
  return new Promise((resolve) => {
    try {
      execFile(
        "nvidia-smi",
        [...NVIDIA_SMI_ARGS],
        { timeout: NVIDIA_SMI_TIMEOUT_MS, env, windowsHide: true },
        (error, stdout) => {
          resolve(error ? undefined : parseNvidiaSmi(String(stdout)));
        },
      );
    } catch {
      resolve(undefined);
    }
  });
}

function fakeGpu(env: NodeJS.ProcessEnv): Omit<GpuInfo, "cudaVersion"> | undefined {
  const count = Number(env.WORKER_FAKE_GPU_COUNT?.trim() || "0");
  if (!Number.isSafeInteger(count) || count <= 0) return undefined;
  const memory = Number(env.WORKER_FAKE_GPU_MEMORY_BYTES?.trim() || Number.NaN);
  const memoryBytes = Number.isSafeInteger(memory) && memory >= 0 ? memory : 24 * GIB;
  return {
    count,
    name: env.WORKER_FAKE_GPU_NAME?.trim() || "FakeGPU",
    driver: env.WORKER_FAKE_GPU_DRIVER?.trim() || "fake",
    memoryBytes,
    usedBytes: 0,
    freeBytes: memoryBytes,
    sm: "",
  };
}

function cudaVersion(env: NodeJS.ProcessEnv): string {
  for (const name of ["WORKER_CUDA_VERSION", "CUDA_VERSION", "NVIDIA_CUDA_VERSION"]) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return "";
}

/** Total RAM, or the cgroup memory limit when one is set and lower. */
function memoryBytes(): number {
  const total = totalmem();
  const constrained = process.constrainedMemory?.();
  return typeof constrained === "number" && constrained > 0 && constrained < total ? constrained : total;
}

/**
 * The version of `onnxruntime-node` as the worker would load it: resolved from this package, then
 * from the working directory (the tenant project in a worker image); "" when neither finds it.
 */
export function onnxruntimeVersion(
  from: (string | URL)[] = [import.meta.url, pathToFileURL(join(process.cwd(), "package.json"))],
): string {
  for (const base of from) {
    const version = packageVersion("onnxruntime-node", base);
    if (version) return version;
  }
  return "";
}

function packageVersion(name: string, base: string | URL): string | undefined {
  const require = createRequire(base);
  let manifestPath: string | undefined;
  try {
    manifestPath = require.resolve(`${name}/package.json`);
  } catch {
    // A package whose `exports` hides package.json: walk up from its entry point instead.
    try {
      manifestPath = findManifest(require.resolve(name), name);
    } catch {
      return undefined;
    }
  }
  if (manifestPath === undefined) return undefined;
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { name?: unknown; version?: unknown };
    return manifest.name === name && typeof manifest.version === "string" ? manifest.version : undefined;
  } catch {
    return undefined;
  }
}

function findManifest(entry: string, name: string): string | undefined {
  let dir = dirname(entry);
  for (;;) {
    const candidate = join(dir, "package.json");
    try {
      const manifest = JSON.parse(readFileSync(candidate, "utf8")) as { name?: unknown };
      if (manifest.name === name) return candidate;
    } catch {
      // not here; keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
