import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir, totalmem } from "node:os";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onnxruntimeVersion, parseNvidiaSmi, readMachineInfo } from "../../src/host/machine-info.js";
import { GPU_QUERY_ARGS } from "../../src/host/nvidia-smi.js";
import { hostSettingsFromEnv } from "../../src/settings/host.js";

/** The machine as a worker started with `env` sees it. */
const machineWith = (env: Record<string, string>) => readMachineInfo(hostSettingsFromEnv(env));

const MIB = 1024 * 1024;

/** What `nvidia-smi --query-gpu=... --format=csv,noheader,nounits` prints on a two-GPU H100 host. */
const TWO_H100 =
  "NVIDIA H100 80GB HBM3, 550.54.15, 81559, 4, 81004, 9.0\nNVIDIA H100 80GB HBM3, 550.54.15, 81559, 0, 81008, 9.0\n";

describe("parseNvidiaSmi", () => {
  it("reads device 0 and counts the lines", () => {
    expect(parseNvidiaSmi(TWO_H100)).toEqual({
      count: 2,
      name: "NVIDIA H100 80GB HBM3",
      driver: "550.54.15",
      memoryBytes: 81559 * MIB,
      usedBytes: 4 * MIB,
      freeBytes: 81004 * MIB,
      sm: "90",
    });
  });

  it("turns the compute capability into major·10+minor", () => {
    expect(parseNvidiaSmi("NVIDIA GeForce RTX 4090, 555.42.02, 24564, 300, 23890, 8.9")?.sm).toBe("89");
    expect(parseNvidiaSmi("NVIDIA B200, 570.86.10, 183359, 0, 182900, 10.0\r\n")?.sm).toBe("100");
  });

  it("reads unknown values as 0 or empty", () => {
    expect(parseNvidiaSmi("NVIDIA A100-SXM4-40GB MIG 1g.5gb, [N/A], [N/A], [N/A], [N/A], [N/A]")).toEqual({
      count: 1,
      name: "NVIDIA A100-SXM4-40GB MIG 1g.5gb",
      driver: "",
      memoryBytes: 0,
      usedBytes: 0,
      freeBytes: 0,
      sm: "",
    });
  });

  it("finds no GPU in empty or unexpected output", () => {
    expect(parseNvidiaSmi("")).toBeUndefined();
    expect(parseNvidiaSmi("\n  \n")).toBeUndefined();
    expect(parseNvidiaSmi("No devices were found")).toBeUndefined();
  });
});

describe("readMachineInfo", () => {
  let dir: string;
  let binWithGpu: string;
  let binFailing: string;
  let binHanging: string;
  let binEmpty: string;

  async function script(folder: string, body: string): Promise<string> {
    await mkdir(folder, { recursive: true });
    const path = join(folder, "nvidia-smi");
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return folder;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "machine-info-"));
    const [query, format] = GPU_QUERY_ARGS;
    binWithGpu = await script(
      join(dir, "gpu"),
      `if [ "$1" = "${query}" ] && [ "$2" = "${format}" ]; then printf '${TWO_H100.replaceAll("\n", "\\n")}'; else echo "unexpected arguments: $*" >&2; exit 2; fi`,
    );
    binFailing = await script(
      join(dir, "failing"),
      'echo "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver." ; exit 9',
    );
    binHanging = await script(join(dir, "hanging"), "exec sleep 30");
    binEmpty = join(dir, "empty");
    await mkdir(binEmpty);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const pathWith = (folder: string) => `${folder}${delimiter}${process.env.PATH ?? ""}`;

  it("reports CPUs, memory and the GPU from nvidia-smi", async () => {
    const info = await machineWith({ PATH: pathWith(binWithGpu), CUDA_VERSION: "12.4.1" });
    expect(info.cpuCores).toBe(availableParallelism());
    expect(info.memoryBytes).toBeGreaterThan(0);
    expect(info.memoryBytes).toBeLessThanOrEqual(totalmem());
    expect(info.gpu).toEqual({
      count: 2,
      name: "NVIDIA H100 80GB HBM3",
      driver: "550.54.15",
      memoryBytes: 81559 * MIB,
      usedBytes: 4 * MIB,
      freeBytes: 81004 * MIB,
      sm: "90",
      cudaVersion: "12.4.1",
    });
    expect(typeof info.onnxruntimeVersion).toBe("string");
  });

  it("takes the CUDA version from WORKER_CUDA_VERSION, then CUDA_VERSION, then NVIDIA_CUDA_VERSION", async () => {
    const PATH = pathWith(binWithGpu);
    const all = { PATH, WORKER_CUDA_VERSION: "13.0", CUDA_VERSION: "12.4.1", NVIDIA_CUDA_VERSION: "12.2" };
    expect((await machineWith(all)).gpu?.cudaVersion).toBe("13.0");
    expect((await machineWith({ ...all, WORKER_CUDA_VERSION: " " })).gpu?.cudaVersion).toBe("12.4.1");
    expect((await machineWith({ PATH, NVIDIA_CUDA_VERSION: "12.2" })).gpu?.cudaVersion).toBe("12.2");
    expect((await machineWith({ PATH })).gpu?.cudaVersion).toBe("");
  });

  it("reports no GPU when nvidia-smi is absent or fails, without throwing", async () => {
    expect((await machineWith({ PATH: binEmpty })).gpu).toBeUndefined();
    expect((await machineWith({ PATH: pathWith(binFailing) })).gpu).toBeUndefined();
  });

  it("gives up on an nvidia-smi that hangs after 5 s", async () => {
    const started = Date.now();
    expect((await machineWith({ PATH: pathWith(binHanging) })).gpu).toBeUndefined();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(4900);
    expect(elapsed).toBeLessThan(15000);
  });

  it("fakes a GPU when WORKER_FAKE_GPU_COUNT > 0, without running nvidia-smi", async () => {
    const info = await machineWith({ PATH: pathWith(binFailing), WORKER_FAKE_GPU_COUNT: "2" });
    expect(info.gpu).toEqual({
      count: 2,
      name: "FakeGPU",
      driver: "fake",
      memoryBytes: 24 * 1024 * MIB,
      usedBytes: 0,
      freeBytes: 24 * 1024 * MIB,
      sm: "",
      cudaVersion: "",
    });
    const custom = await machineWith({
      PATH: binEmpty,
      WORKER_FAKE_GPU_COUNT: "1",
      WORKER_FAKE_GPU_MEMORY_BYTES: "1000",
      WORKER_FAKE_GPU_NAME: "Test Card",
      WORKER_FAKE_GPU_DRIVER: "1.2.3",
      WORKER_CUDA_VERSION: "12.8",
    });
    expect(custom.gpu).toEqual({
      count: 1,
      name: "Test Card",
      driver: "1.2.3",
      memoryBytes: 1000,
      usedBytes: 0,
      freeBytes: 1000,
      sm: "",
      cudaVersion: "12.8",
    });
  });

  it("ignores a fake GPU count of 0 or garbage", async () => {
    for (const count of ["0", "-1", "two", ""]) {
      expect((await machineWith({ PATH: binEmpty, WORKER_FAKE_GPU_COUNT: count })).gpu).toBeUndefined();
    }
  });
});

describe("onnxruntimeVersion", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ort-version-"));
    const visible = join(dir, "visible", "node_modules", "onnxruntime-node");
    await mkdir(join(visible, "dist"), { recursive: true });
    await writeFile(
      join(visible, "package.json"),
      JSON.stringify({ name: "onnxruntime-node", version: "1.29.0", main: "dist/index.js" }),
    );
    await writeFile(join(visible, "dist", "index.js"), "module.exports = {};\n");
    // A package whose `exports` hides package.json: found by walking up from its entry point.
    const hidden = join(dir, "hidden", "node_modules", "onnxruntime-node");
    await mkdir(join(hidden, "dist"), { recursive: true });
    await writeFile(
      join(hidden, "package.json"),
      JSON.stringify({ name: "onnxruntime-node", version: "1.30.0", exports: { ".": "./dist/index.js" } }),
    );
    await writeFile(join(hidden, "dist", "index.js"), "module.exports = {};\n");
    await mkdir(join(dir, "none"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const from = (project: string) => pathToFileURL(join(dir, project, "package.json"));

  it("reads the installed package's version", () => {
    expect(onnxruntimeVersion([from("visible")])).toBe("1.29.0");
    expect(onnxruntimeVersion([from("hidden")])).toBe("1.30.0");
  });

  it("tries each place in order and gives '' when none has it", () => {
    expect(onnxruntimeVersion([from("none"), from("hidden"), from("visible")])).toBe("1.30.0");
    expect(onnxruntimeVersion([from("none")])).toBe("");
  });
});
