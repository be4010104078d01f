/**
 * The test kit: runs a project's endpoints in this process through the production Executor
 * (validation with defaults, input files, model lease, events, output checks, cancellation,
 * timeouts), with files in memory and models from local ONNX files or fakes.
 */
import { randomUUID } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Manifest, ManifestFunction } from "../contract/manifest.js";
import type { TaskRequest } from "../contract/task.js";
import { UserError } from "../contract/user-errors.js";
import { Executor } from "../runtime/executor.js";
import { loadTenantModule } from "../runtime/tenant-loader.js";
import type { ProviderName } from "../settings/models.js";
import { type RuntimeSettings, runtimeSettingsFromEnv } from "../settings/runtime.js";
import { discoverOnce } from "./discovery-cache.js";
import { MemoryFileApi } from "./file-server.js";
import { HandlerProbe } from "./handler-probe.js";
import type { KitModels, ModelSource } from "./kit-models.js";
import { replaceBytes } from "./payload-files.js";
import { RunRecorder } from "./run-recorder.js";
import { makeTempDir, removeTempDir } from "./temp-dirs.js";
import type { EndpointName, OutcomeFor, PayloadFor } from "./types.js";

export interface TestKitOptions {
  /**
   * The models handlers inject, by model key: the path (or file URL) of a `.onnx` file or of a
   * folder holding the graphs, or a fake (an object with `session.run`). Relative paths are taken
   * from the current directory.
   */
  models?: Readonly<Record<string, ModelSource>>;
  /** Keys without a model above are downloaded as `cozy-worker run --local` does (HF_ENDPOINT, ...). */
  download?: boolean;
  /** Execution providers for local model files; default `["cpu"]`. */
  providers?: ProviderName[];
  /** Input files the kit serves: a folder (refs are paths inside it), or bytes by ref. */
  files?: string | URL | Readonly<Record<string, Uint8Array>>;
  /** Default timeout of every run, in ms; none by default (as in production without `timeout_ms`). */
  timeoutMs?: number;
  /** The runtime's limits; production defaults otherwise (folders and file API are the kit's). */
  settings?: Partial<RuntimeSettings>;
  /** Use this manifest instead of discovering the project. */
  manifest?: Manifest;
  /** Discover again even if this process has already discovered the project. */
  rediscover?: boolean;
}

export interface RunOptions {
  /** Cancel the run after this many ms (`timeout_ms`); overrides the kit's default. */
  timeoutMs?: number;
  /** Cancels the run when aborted, as a client's cancel does. */
  signal?: AbortSignal;
  runId?: string;
  owner?: string;
  userId?: string;
  requiredModels?: string[];
}

/** A project's endpoints, ready to run. `M` is the handlers' module type, for typed payloads. */
export interface TestKit<M = unknown> {
  /** The project folder. */
  readonly dir: string;
  readonly manifest: Manifest;
  /** The function names, sorted. */
  readonly endpoints: readonly string[];
  /** Runs one endpoint (function name or endpoint slug) to its result; rejects only on misuse. */
  run<K extends EndpointName<M>>(
    endpoint: K,
    payload: PayloadFor<M, K>,
    options?: RunOptions,
  ): Promise<OutcomeFor<M, K>>;
  /** Serves bytes under `ref`, for a payload's Asset field: `{ audio: { ref } }`. */
  addFile(ref: string, bytes: Uint8Array): { ref: string };
  /** The refs of the files the `files` option serves. */
  inputFiles(): Promise<string[]>;
  /** The manifest entry of an endpoint (function name, endpoint slug or export name). */
  describe(endpoint: string): ManifestFunction;
  /** Stops runs in flight, releases models, removes the kit's temporary folder. */
  close(): Promise<void>;
}

/**
 * Discovers the project (once per process; the manifest is cached), bundles and imports its
 * handlers and returns a kit that runs them as production does.
 */
export async function testKit<M = unknown>(
  dir: string | URL,
  options: TestKitOptions = {},
): Promise<TestKit<M>> {
  const projectDir = resolve(dir instanceof URL ? fileURLToPath(dir) : dir);
  const manifest = options.manifest ?? (await discoverOnce(projectDir, options.rediscover === true));
  const handlers = await loadTenantModule(projectDir, resolve(projectDir, manifest.runtime.main));
  const temp = await makeTempDir();
  const folder =
    typeof options.files === "string" || options.files instanceof URL ? pathOf(options.files) : undefined;
  const fileApi = new MemoryFileApi(folder);
  let models: KitModels | undefined;
  try {
    await fileApi.start();
    if (options.files !== undefined && folder === undefined) {
      for (const [ref, bytes] of Object.entries(options.files)) fileApi.put(ref, bytes as Uint8Array);
    }
    models = await kitModels(manifest, options);
    return new Kit<M>(projectDir, manifest, handlers, { temp, fileApi, models, folder, options });
  } catch (error) {
    await fileApi.close();
    await models?.close();
    await removeTempDir(temp);
    throw error;
  }
}

async function kitModels(manifest: Manifest, options: TestKitOptions): Promise<KitModels | undefined> {
  if (!manifest.functions.some((fn) => fn.injection_json.length > 0)) return undefined;
  // ONNX Runtime loads only for projects that inject models.
  const { KitModels } = await import("./kit-models.js");
  const models = new KitModels({
    sources: options.models ?? {},
    providers: options.providers ?? ["cpu"],
    keyspaces: manifest.models_by_function ?? {},
    ...(options.download ? { fallback: () => productionModelHost(manifest) } : {}),
  });
  try {
    await models.prepare();
  } catch (error) {
    await models.close();
    throw error;
  }
  return models;
}

async function productionModelHost(manifest: Manifest) {
  const [{ createModelHost }, { devRunnerSettingsFromEnv }, { readMachineInfo }] = await Promise.all([
    import("../models/host/model-host.js"),
    import("../settings/dev-runner.js"),
    import("../host/machine-info.js"),
  ]);
  const settings = devRunnerSettingsFromEnv();
  const quiet = () => {};
  return createModelHost({
    settings: settings.models,
    machine: await readMachineInfo(settings.host),
    manifest,
    log: { info: quiet, warn: quiet } as never,
  });
}

interface KitParts {
  temp: string;
  fileApi: MemoryFileApi;
  models: KitModels | undefined;
  folder: string | undefined;
  options: TestKitOptions;
}

class Kit<M> implements TestKit<M> {
  readonly endpoints: readonly string[];
  private readonly executor: Executor;
  private readonly probe = new HandlerProbe();
  private closed: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    handlers: Record<string, unknown>,
    private readonly parts: KitParts,
  ) {
    const { temp, fileApi, models, options } = parts;
    const settings: RuntimeSettings = {
      ...runtimeSettingsFromEnv({}),
      ...options.settings,
      runDir: join(temp, "runs"),
      cacheDir: join(temp, "cache"),
      keepRunDirs: false,
      fileApi: { baseUrl: fileApi.url, token: fileApi.token },
    };
    this.executor = new Executor({
      manifest,
      handlers: this.probe.wrap(handlers, manifest.functions),
      settings,
      ...(models ? { models } : {}),
    });
    this.endpoints = this.executor.functionNames();
  }

  describe(endpoint: string): ManifestFunction {
    const fn =
      this.manifest.functions.find((f) => f.name === endpoint || f.endpoint_name === endpoint) ??
      this.manifest.functions.find((f) => f.export === endpoint);
    if (fn) return fn;
    throw new UserError(
      `${this.dir} has no endpoint "${endpoint}": its endpoints are ${this.endpoints.join(", ") || "none"}`,
    );
  }

  async run<K extends EndpointName<M>>(
    endpoint: K,
    payload: PayloadFor<M, K>,
    options: RunOptions = {},
  ): Promise<OutcomeFor<M, K>> {
    if (this.closed) throw new UserError("this test kit is closed: make a new one with testKit()");
    const fn = this.describe(endpoint);
    const missing = this.parts.models?.missingKeys(fn) ?? [];
    if (missing.length > 0) {
      const example = missing.map((key) => `${JSON.stringify(key)}: "path/to/model.onnx"`).join(", ");
      throw new UserError(
        `${fn.name} injects the model${missing.length > 1 ? "s" : ""} ${missing.join(", ")}, which the test kit was not given: testKit(dir, { models: { ${example} } }) (a .onnx file, a folder, or a fake with session.run), or { download: true }`,
      );
    }
    const runId = options.runId ?? randomUUID();
    const json = JSON.stringify(replaceBytes(payload, (ref, bytes) => this.parts.fileApi.put(ref, bytes)));
    if (json === undefined) throw new UserError(`the payload of ${fn.name} is not JSON data`);
    const timeoutMs = options.timeoutMs ?? this.parts.options.timeoutMs;
    const task: TaskRequest = {
      runId,
      functionName: fn.name,
      payload: JSON.parse(json),
      payloadBytes: Buffer.byteLength(json),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(options.owner === undefined ? {} : { owner: options.owner }),
      ...(options.userId === undefined ? {} : { userId: options.userId }),
      ...(options.requiredModels === undefined ? {} : { requiredModels: options.requiredModels }),
    };
    const recorder = new RunRecorder();
    const pending = this.executor.run(task, recorder.sink);
    const { signal } = options;
    const cancel = () => this.executor.cancel(runId, cancelReason(signal?.reason));
    if (signal?.aborted) cancel();
    else signal?.addEventListener("abort", cancel, { once: true });
    try {
      const result = await pending;
      const files = this.parts.fileApi.filesUnder(`runs/${runId}/outputs/`);
      return recorder.outcome(result, files, this.probe.take(runId)) as OutcomeFor<M, K>;
    } finally {
      signal?.removeEventListener("abort", cancel);
    }
  }

  addFile(ref: string, bytes: Uint8Array): { ref: string } {
    if (!(bytes instanceof Uint8Array))
      throw new UserError(`addFile(${JSON.stringify(ref)}): give the bytes as a Uint8Array`);
    this.parts.fileApi.put(ref, bytes);
    return { ref };
  }

  async inputFiles(): Promise<string[]> {
    const { folder, options } = this.parts;
    if (folder === undefined) return Object.keys(options.files ?? {}).sort();
    const entries = await readdir(folder, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(folder, join(entry.parentPath, entry.name)).split(sep).join("/"))
      .sort();
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.executor.drain(1000);
      await this.parts.fileApi.close();
      await this.parts.models?.close();
      await removeTempDir(this.parts.temp);
    })();
    return this.closed;
  }
}

function cancelReason(reason: unknown): string {
  if (reason instanceof Error && reason.message) return reason.message;
  return typeof reason === "string" && reason ? reason : "canceled by the test";
}

function pathOf(path: string | URL): string {
  return resolve(path instanceof URL ? fileURLToPath(path) : path);
}
