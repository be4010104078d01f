import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { FakeGpu, HostSettings } from "../settings/host.js";
import { GPU_QUERY_ARGS, runNvidiaSmi } from "./nvidia-smi.js";

/** GPU device 0 as nvidia-smi reports it (or as WORKER_FAKE_GPU_* fakes it). */
export interface GpuInfo {
  count: number;
  name: string;
  /** The NVIDIA driver version (the Python SDK put the CUDA runtime version here). */
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

/**
 * Reads the machine: CPU count, memory (the container's limit when lower than the host's RAM), GPU
 * device 0 through nvidia-smi (looked up on the settings' `PATH`), the onnxruntime-node version.
 * Never throws: a missing or failing nvidia-smi means no GPU.
 */
export async function readMachineInfo(settings: HostSettings): Promise<MachineInfo> {
  const info: MachineInfo = {
    cpuCores: availableParallelism(),
    memoryBytes: memoryBytes(),
    onnxruntimeVersion: onnxruntimeVersion(),
  };
  const gpu = fakeGpu(settings.fakeGpu) ?? (await queryGpu(settings.searchPath));
  if (gpu) info.gpu = { ...gpu, cudaVersion: settings.cudaVersion };
  return info;
}

/**
 * Parses what nvidia-smi prints for {@link GPU_QUERY_ARGS}: device 0 from the first line, `count` = number of lines, MiB
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

async function queryGpu(searchPath: string | undefined): Promise<Omit<GpuInfo, "cudaVersion"> | undefined> {
  const stdout = await runNvidiaSmi(GPU_QUERY_ARGS, searchPath);
  return stdout === undefined ? undefined : parseNvidiaSmi(stdout);
}

function fakeGpu(fake: FakeGpu | undefined): Omit<GpuInfo, "cudaVersion"> | undefined {
  if (fake === undefined) return undefined;
  return { ...fake, usedBytes: 0, freeBytes: fake.memoryBytes, sm: "" };
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
