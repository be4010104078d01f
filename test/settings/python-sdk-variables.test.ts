/**
 * Environment variables of the Python SDK (gen-worker 0.2.1) that gen-worker does not read, on purpose
 * (docs/differences.md): setting them changes no setting of the worker, the dev runner or the CLI.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelDiskCache } from "../../src/models/store/disk-cache.js";
import { cliSettingsFromEnv } from "../../src/settings/cli.js";
import { devRunnerSettingsFromEnv } from "../../src/settings/dev-runner.js";
import { modelSettingsFromEnv } from "../../src/settings/models.js";
import { workerSettingsFromEnv } from "../../src/settings/worker.js";

const PYTHON_ONLY: Record<string, string> = {
  HF_HOME: "/somewhere/huggingface",
  MODEL_MANAGER_CLASS: "my_pkg.models:Manager",
  MODEL_CACHE_DIR: "/models",
  WORKER_LOCAL_MODEL_CACHE_DIR: "/local-cache",
  WORKER_LOCAL_CACHE_GB: "5",
  WORKER_TORCH_DEVICE: "cuda:1",
  WORKER_DEVICE: "cpu",
  WORKER_TORCH_VERSION: "2.10.0",
  COZY_HF_INCLUDE_OPTIONAL_COMPONENTS: "1",
  COZY_FUNCTION_MODULES: "my_pkg.main",
  GEN_WORKER_MANIFEST_PATH: "/elsewhere/manifest.json",
  GEN_WORKER_PROJECT_ROOT: "/elsewhere",
  COZY_DISABLE_SEQUENTIAL_CPU_OFFLOAD: "1",
};

describe("variables only the Python SDK reads", () => {
  it("change nothing in the worker's, the dev runner's or the CLI's settings", () => {
    const base = { WORKER_JWT: "t" };
    expect(workerSettingsFromEnv({ ...base, ...PYTHON_ONLY })).toEqual(workerSettingsFromEnv(base));
    expect(devRunnerSettingsFromEnv(PYTHON_ONLY)).toEqual(devRunnerSettingsFromEnv({}));
    expect(cliSettingsFromEnv(PYTHON_ONLY)).toEqual(cliSettingsFromEnv({}));
  });

  it("HF_HOME does not move the Hugging Face cache: it lies under WORKER_MODEL_CACHE_DIR/hf", () => {
    const settings = modelSettingsFromEnv({ HF_HOME: "/somewhere/huggingface" });
    expect(settings.cache.dir).toBe("/tmp/cozy/models");
    const cache = new ModelDiskCache({
      settings: modelSettingsFromEnv({ WORKER_MODEL_CACHE_DIR: "/cache" }),
    });
    expect(cache.snapshotsDir("acme/ocr")).toBe(join("/cache", "hf", "acme--ocr", "snapshots"));
  });

  it("GEN_WORKER_OUTPUT_DIR defaults to outputs in the working folder, not /outputs", () => {
    expect(cliSettingsFromEnv({}).outputsDir).toBe("outputs");
  });
});
