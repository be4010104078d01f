import { describe, expect, it } from "vitest";
import {
  ALLOWED_PROVIDERS,
  DEFAULT_MAX_CONCURRENT_DOWNLOADS,
  DEFAULT_MODEL_CACHE_DIR,
  DEFAULT_PROVIDERS,
  modelSettingsFromEnv,
} from "../../src/settings/models.js";
import { EnvironmentError } from "../../src/settings/read.js";

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    modelSettingsFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvironmentError);
    return (error as EnvironmentError).problems;
  }
  throw new Error("expected an EnvironmentError");
}

describe("model settings", () => {
  it("has the documented defaults in an empty environment", () => {
    const settings = modelSettingsFromEnv({});
    expect(settings.cache).toEqual({ dir: DEFAULT_MODEL_CACHE_DIR, maxBytes: 0 });
    expect(settings.maxConcurrentDownloads).toBe(DEFAULT_MAX_CONCURRENT_DOWNLOADS);
    expect(settings.providers).toEqual([...DEFAULT_PROVIDERS]);
    expect(settings.ortLogLevel).toBe("fatal");
    expect(settings.budget).toEqual({ vramSafetyMarginGb: 3.5 });
    expect(settings.proxy).toBeUndefined();
    expect(settings.cozyHub).toEqual({ apiResolveAllowed: false });
    expect(settings.hfSelection).toEqual({ allowRootJson: false, fullRepo: false });
  });

  it("reads the cache, the hubs and the first HF token that is set", () => {
    const settings = modelSettingsFromEnv({
      WORKER_MODEL_CACHE_DIR: " /data/models ",
      WORKER_MODEL_CACHE_MAX_GB: "1.5",
      HF_ENDPOINT: "http://hub.local",
      HUGGINGFACE_TOKEN: "hf_second",
      HUGGINGFACEHUB_API_TOKEN: "hf_third",
      COZY_HUB_URL: "https://cozy.example",
      COZY_HUB_TOKEN: "secret",
      WORKER_ALLOW_COZY_HUB_API_RESOLVE: "Yes",
    });
    expect(settings.cache).toEqual({ dir: "/data/models", maxBytes: 1_500_000_000 });
    expect(settings.hf).toEqual({ endpoint: "http://hub.local", token: "hf_second" });
    expect(settings.cozyHub).toEqual({
      url: "https://cozy.example",
      token: "secret",
      apiResolveAllowed: true,
    });
  });

  it.each<[string, number]>([
    ["", DEFAULT_MAX_CONCURRENT_DOWNLOADS],
    [" 5 ", 5],
    ["1", 1],
  ])("reads WORKER_MAX_CONCURRENT_DOWNLOADS %j as %i", (value, expected) => {
    expect(modelSettingsFromEnv({ WORKER_MAX_CONCURRENT_DOWNLOADS: value }).maxConcurrentDownloads).toBe(
      expected,
    );
  });

  it.each(["0", "-1", "two", "1.5"])("refuses WORKER_MAX_CONCURRENT_DOWNLOADS %j", (value) => {
    expect(problemsOf({ WORKER_MAX_CONCURRENT_DOWNLOADS: value })).toEqual([
      `WORKER_MAX_CONCURRENT_DOWNLOADS must be a whole number of 1 or more, got "${value}"; leave it unset for 2`,
    ]);
  });

  it("keeps the providers' order, ignoring case, spaces, empty items and repeats", () => {
    expect(
      modelSettingsFromEnv({ WORKER_ORT_PROVIDERS: " CPU, cuda,,cpu ,WebGPU,tensorrt" }).providers,
    ).toEqual(["cpu", "cuda", "webgpu", "tensorrt"]);
    expect(modelSettingsFromEnv({ WORKER_ORT_PROVIDERS: "  " }).providers).toEqual([...DEFAULT_PROVIDERS]);
  });

  it("rejects an unknown provider, naming it and the allowed values", () => {
    expect(problemsOf({ WORKER_ORT_PROVIDERS: "cuda,gpu" })).toEqual([
      `WORKER_ORT_PROVIDERS: unknown execution provider "gpu"; allowed: ${ALLOWED_PROVIDERS.join(", ")}`,
    ]);
  });

  it("reads ONNX Runtime's log level and refuses one it does not have", () => {
    expect(modelSettingsFromEnv({ WORKER_ORT_LOG_LEVEL: "Warning" }).ortLogLevel).toBe("warning");
    expect(problemsOf({ WORKER_ORT_LOG_LEVEL: "loud" })).toEqual([
      'WORKER_ORT_LOG_LEVEL must be one of verbose, info, warning, error, fatal, got "loud"; leave it unset for fatal',
    ]);
  });

  it("reads the proxy in either case, and none without HTTP_PROXY or HTTPS_PROXY", () => {
    expect(modelSettingsFromEnv({ https_proxy: "http://proxy:3128", NO_PROXY: "localhost" }).proxy).toEqual({
      httpsProxy: "http://proxy:3128",
      noProxy: "localhost",
    });
    expect(modelSettingsFromEnv({ NO_PROXY: "localhost" }).proxy).toBeUndefined();
  });

  it("reports every malformed value at once", () => {
    expect(
      problemsOf({
        WORKER_MAX_VRAM_GB: "lots",
        WORKER_VRAM_SAFETY_MARGIN_GB: "-1",
        WORKER_MAX_RAM_SESSION_GB: "2",
        WORKER_MODEL_CACHE_MAX_GB: "big",
        COZY_HF_WEIGHT_PRECISIONS: "fp16,f32",
        COZY_HF_MAX_BYTES: "3GB",
      }),
    ).toEqual([
      'WORKER_MODEL_CACHE_MAX_GB must be a non-negative number of gigabytes (0 = no cap), got "big"',
      'WORKER_MAX_VRAM_GB must be a non-negative number of GB, got "lots"',
      "COZY_HF_WEIGHT_PRECISIONS has unknown dtypes f32; known: fp32, fp16, bf16, fp8, int8, uint8, int4, q4, q4f16, bnb4, quantized",
      'COZY_HF_MAX_BYTES must be a whole number of bytes (0 = no limit), got "3GB"',
      'WORKER_VRAM_SAFETY_MARGIN_GB must be a non-negative number of GB, got "-1"',
    ]);
  });
});
