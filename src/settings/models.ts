import { DTYPES, type Dtype } from "../contract/model-spec.js";
import { type Environment, EnvReader, processEnvironment } from "./read.js";

/** Execution providers a worker may be configured with, in the spelling ONNX Runtime uses. */
export const ALLOWED_PROVIDERS = ["cuda", "cpu", "webgpu", "tensorrt"] as const;
export type ProviderName = (typeof ALLOWED_PROVIDERS)[number];

/** Used when `WORKER_ORT_PROVIDERS` is unset or blank: the GPU when it loads, else the CPU. */
export const DEFAULT_PROVIDERS: readonly ProviderName[] = ["cuda", "cpu"];

export const ORT_LOG_LEVELS = ["verbose", "info", "warning", "error", "fatal"] as const;
export type OrtLogLevel = (typeof ORT_LOG_LEVELS)[number];

/** `WORKER_MODEL_CACHE_DIR` when unset. */
export const DEFAULT_MODEL_CACHE_DIR = "/tmp/cozy/models";
export const DEFAULT_MAX_CONCURRENT_DOWNLOADS = 2;
export const DEFAULT_VRAM_SAFETY_MARGIN_GB = 3.5;

/** The proxy that hub API calls and model downloads go through (undici's EnvHttpProxyAgent rules). */
export interface ProxySettings {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy: string;
}

/** Overrides of which files of a Hugging Face repo are fetched, for every model. */
export interface HfSelectionOverrides {
  /** `COZY_HF_WEIGHT_PRECISIONS`: replaces each model's dtypes. */
  dtypes?: Dtype[];
  /** `COZY_HF_COMPONENTS`: folders whose graphs and support files are taken. */
  components?: string[];
  /** `COZY_HF_ALLOW_ROOT_JSON`. */
  allowRootJson: boolean;
  /** `COZY_HF_FULL_REPO_DOWNLOAD`. */
  fullRepo: boolean;
  /** `COZY_HF_MAX_BYTES`: size guard in bytes, 0 = none. */
  maxBytes?: number;
}

/** Where the session memory budget comes from (see `deviceBudget`). */
export interface SessionBudgetSettings {
  /** `WORKER_MAX_VRAM_GB`: an explicit budget, on any machine. */
  maxVramGb?: number;
  /** `WORKER_VRAM_SAFETY_MARGIN_GB`, kept free on a GPU. */
  vramSafetyMarginGb: number;
  /** `WORKER_MAX_RAM_SESSION_GB`: the budget of a machine without a GPU. */
  maxRamSessionGb?: number;
}

/** Model downloads, the disk cache and ONNX Runtime sessions. */
export interface ModelSettings {
  cache: { dir: string; maxBytes: number };
  maxConcurrentDownloads: number;
  hf: { endpoint?: string; token?: string };
  hfSelection: HfSelectionOverrides;
  cozyHub: { url?: string; token?: string; apiResolveAllowed: boolean };
  proxy?: ProxySettings;
  providers: ProviderName[];
  ortLogLevel: OrtLogLevel;
  budget: SessionBudgetSettings;
  /**
   * `WORKER_MODEL_WARMUP` (default on): run each new session once on synthetic inputs before the model
   * counts as loaded, so that the first request does not pay ONNX Runtime's first-run costs.
   */
  warmup: boolean;
}

const GB = 1_000_000_000;

/** Reads {@link ModelSettings} into `reader`, which collects the problems. */
export function readModelSettings(reader: EnvReader): ModelSettings {
  const maxGb = reader.amount("WORKER_MODEL_CACHE_MAX_GB", "gigabytes (0 = no cap)");
  const hfEndpoint = reader.text("HF_ENDPOINT");
  const hfToken = reader.firstText("HF_TOKEN", "HUGGINGFACE_TOKEN", "HUGGINGFACEHUB_API_TOKEN");
  const hubUrl = reader.text("COZY_HUB_URL");
  const hubToken = reader.text("COZY_HUB_TOKEN");
  const proxy = readProxy(reader);
  const maxVramGb = reader.amount("WORKER_MAX_VRAM_GB", "GB");
  const maxRamSessionGb = reader.amount("WORKER_MAX_RAM_SESSION_GB", "GB");
  return {
    cache: {
      dir: reader.text("WORKER_MODEL_CACHE_DIR") ?? DEFAULT_MODEL_CACHE_DIR,
      maxBytes: maxGb === undefined ? 0 : Math.floor(maxGb * GB),
    },
    maxConcurrentDownloads: reader.count(
      "WORKER_MAX_CONCURRENT_DOWNLOADS",
      DEFAULT_MAX_CONCURRENT_DOWNLOADS,
      undefined,
      1,
    ),
    hf: { ...(hfEndpoint ? { endpoint: hfEndpoint } : {}), ...(hfToken ? { token: hfToken } : {}) },
    hfSelection: readHfSelection(reader),
    cozyHub: {
      ...(hubUrl ? { url: hubUrl } : {}),
      ...(hubToken ? { token: hubToken } : {}),
      apiResolveAllowed: reader.flag("WORKER_ALLOW_COZY_HUB_API_RESOLVE"),
    },
    ...(proxy ? { proxy } : {}),
    providers: readProviders(reader),
    ortLogLevel: reader.oneOf("WORKER_ORT_LOG_LEVEL", ORT_LOG_LEVELS, "fatal"),
    // On unless set to something that is not a truthy flag (`0`, `false`, `no`, `off`).
    warmup: reader.text("WORKER_MODEL_WARMUP") === undefined || reader.flag("WORKER_MODEL_WARMUP"),
    budget: {
      ...(maxVramGb === undefined ? {} : { maxVramGb }),
      vramSafetyMarginGb:
        reader.amount("WORKER_VRAM_SAFETY_MARGIN_GB", "GB") ?? DEFAULT_VRAM_SAFETY_MARGIN_GB,
      ...(maxRamSessionGb === undefined ? {} : { maxRamSessionGb }),
    },
  };
}

/** {@link ModelSettings} of an environment; every malformed variable is reported, all at once. */
export function modelSettingsFromEnv(env: Environment = processEnvironment()): ModelSettings {
  const reader = new EnvReader(env);
  const settings = readModelSettings(reader);
  reader.done();
  return settings;
}

/**
 * `WORKER_ORT_PROVIDERS`: a comma-separated, ordered list (case and spaces ignored, repeats
 * dropped). Unset or blank gives {@link DEFAULT_PROVIDERS}; an unknown name is a problem naming the
 * allowed values.
 */
function readProviders(reader: EnvReader): ProviderName[] {
  const names = reader.list("WORKER_ORT_PROVIDERS").map((name) => name.toLowerCase());
  if (names.length === 0) return [...DEFAULT_PROVIDERS];
  const unknown = names.filter((name) => !(ALLOWED_PROVIDERS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    reader.problem(
      `WORKER_ORT_PROVIDERS: unknown execution provider${unknown.length > 1 ? "s" : ""} ` +
        `${unknown.map((name) => JSON.stringify(name)).join(", ")}; allowed: ${ALLOWED_PROVIDERS.join(", ")}`,
    );
    return [...DEFAULT_PROVIDERS];
  }
  return [...new Set(names as ProviderName[])];
}

function readHfSelection(reader: EnvReader): HfSelectionOverrides {
  const overrides: HfSelectionOverrides = {
    allowRootJson: reader.flag("COZY_HF_ALLOW_ROOT_JSON"),
    fullRepo: reader.flag("COZY_HF_FULL_REPO_DOWNLOAD"),
  };
  const precisions = reader.list("COZY_HF_WEIGHT_PRECISIONS").map((item) => item.toLowerCase());
  if (precisions.length > 0) {
    const unknown = precisions.filter((item) => !(DTYPES as readonly string[]).includes(item));
    if (unknown.length > 0) {
      reader.problem(
        `COZY_HF_WEIGHT_PRECISIONS has unknown dtypes ${unknown.join(", ")}; known: ${DTYPES.join(", ")}`,
      );
    } else {
      overrides.dtypes = [...new Set(precisions as Dtype[])];
    }
  }
  const components = reader.list("COZY_HF_COMPONENTS");
  if (components.length > 0) overrides.components = components;
  const maxBytes = reader.text("COZY_HF_MAX_BYTES");
  if (maxBytes !== undefined) {
    const value = Number(maxBytes);
    if (!Number.isSafeInteger(value) || value < 0) {
      reader.problem(`COZY_HF_MAX_BYTES must be a whole number of bytes (0 = no limit), got "${maxBytes}"`);
    } else {
      overrides.maxBytes = value;
    }
  }
  return overrides;
}

/** `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY`, in either case; undefined when no proxy is named. */
function readProxy(reader: EnvReader): ProxySettings | undefined {
  const httpProxy = reader.eitherCase("HTTP_PROXY");
  const httpsProxy = reader.eitherCase("HTTPS_PROXY");
  if (httpProxy === undefined && httpsProxy === undefined) return undefined;
  return {
    ...(httpProxy ? { httpProxy } : {}),
    ...(httpsProxy ? { httpsProxy } : {}),
    noProxy: reader.eitherCase("NO_PROXY") ?? "",
  };
}
