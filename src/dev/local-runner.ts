import { existsSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import type { DevModelControl, DevPrefetchOutcome } from "../adapters/http/model-routes.js";
import { attachRealtime } from "../adapters/http/realtime-ws.js";
import { createDevServer } from "../adapters/http/server.js";
import type { RunEvent } from "../contract/events.js";
import type { Manifest } from "../contract/manifest.js";
import { canonicalizeModelRef } from "../contract/model-ref.js";
import type { RunResult } from "../contract/task.js";
import { UserError } from "../contract/user-errors.js";
import { discover } from "../discovery/discover.js";
import { readMachineInfo } from "../host/machine-info.js";
import type { ModelHost } from "../models/host/model-host.js";
import type { SessionLog } from "../models/sessions/execution-providers.js";
import { Executor } from "../runtime/executor.js";
import { RealtimeHost } from "../runtime/realtime/host.js";
import type { SessionEnd } from "../runtime/realtime/session.js";
import { loadTenantModule, PREBUILT_BUNDLE } from "../runtime/tenant-loader.js";
import type { DevRunnerSettings } from "../settings/dev-runner.js";
import { BackgroundTypeCheck } from "./background-typecheck.js";
import { type DevFileApi, startDevFileApi } from "./file-api-server.js";
import { ProjectReport } from "./project-report.js";
import { type SourceWatcher, watchSources } from "./source-watcher.js";

export interface ListenAddress {
  host: string;
  port: number;
}

export interface LocalRunnerOptions {
  dir: string;
  listen: ListenAddress;
  outputsDir: string;
  /** Served as the Cozy file API on loopback, so input `Asset` refs name files in this folder. */
  filesDir?: string | undefined;
  watch: boolean;
  drainTimeoutMs: number;
  /** The runner's settings: the runtime's limits, the models' and the machine's. */
  settings: DevRunnerSettings;
  log: {
    info(message: string): void;
    logLine(message: string): void;
    warn(message: string): void;
    error(message: string): void;
  };
}

export interface LocalRunner {
  url: string;
  functions: string[];
  /** Stops taking requests, drains in-flight runs (up to the drain timeout) and closes. */
  close(): Promise<void>;
}

/**
 * `cozy-worker run --local`: discovers the project, bundles and imports its handlers, and serves
 * them over HTTP. With `watch`, a source change rebuilds and swaps in new handlers; runs in flight
 * finish on the code they started with, and a broken change keeps the old code serving.
 * Discovery's warnings and the handlers' type errors are printed as warnings, at start and when
 * a reload changes them; the type check runs on a worker thread after the code is served.
 */
export async function startLocalRunner(options: LocalRunnerOptions): Promise<LocalRunner> {
  const dir = resolve(options.dir);
  const outputsDir = resolve(options.outputsDir);
  const executors = new Set<Executor>();
  const realtimeHosts = new Set<RealtimeHost>();
  const { settings } = options;
  const { cozyTomlPath } = settings.project;
  /** The manifest of the code being served (it changes when `--watch` reloads). */
  let servedManifest: Manifest | undefined;
  let loadedHost: ModelHost | undefined;
  // Made on first need (a function that injects a model, or a model route): a project without
  // models does not pay for loading ONNX Runtime.
  let models: Promise<ModelHost> | undefined;
  const modelHost = () => {
    models ??= Promise.all([import("../models/host/model-host.js"), readMachineInfo(settings.host)]).then(
      ([{ createModelHost }, machine]) => {
        const host = createModelHost({
          settings: settings.models,
          machine,
          log: sessionLog(options.log),
          onEvent: (event) => logModelEvent(event, options.log),
        });
        if (servedManifest) host.setManifest(servedManifest);
        void host.refreshDiskInventory();
        loadedHost = host;
        return host;
      },
    );
    return models;
  };
  const prefetchOne = async (modelId: string): Promise<DevPrefetchOutcome> => {
    const [outcome] = await (await modelHost()).prefetch([modelId]);
    if (!outcome || outcome.ok) return { ok: true };
    return { ok: false, errorType: outcome.errorType, message: outcome.message };
  };
  const modelControl: DevModelControl = {
    stats: () => loadedHost?.stats() ?? {},
    load: async (modelId) => (await modelHost()).loadModel(modelId),
    unload: async (modelId) =>
      loadedHost
        ? loadedHost.unloadModel(modelId)
        : {
            unloaded: false,
            reason: "not_loaded",
            message: `model ${canonicalizeModelRef(modelId)} is not loaded`,
          },
    prefetch: prefetchOne,
    warmup: async ({ fn, payload, runId, resolvedCozyModels }) => {
      if (fn.injection_json.length === 0) return [];
      const host = await modelHost();
      if (resolvedCozyModels) host.setResolvedCozyModels(resolvedCozyModels);
      const keyspace = servedManifest?.models_by_function?.[fn.name] ?? {};
      const lease = host.lease({ runId, fn, keyspace, payload });
      try {
        await lease.load();
        return lease.report().models.map((model) => model.model_id);
      } finally {
        lease.release();
      }
    },
    refOfKey: (key) => {
      for (const keyspace of Object.values(servedManifest?.models_by_function ?? {})) {
        const spec = keyspace[key];
        if (spec) return canonicalizeModelRef(spec.ref);
      }
      return undefined;
    },
  };
  let files: DevFileApi | undefined;
  let runtime = settings.runtime;
  if (options.filesDir !== undefined) {
    files = await startDevFileApi({ dir: resolve(options.filesDir), listen: "127.0.0.1:0" });
    runtime = { ...runtime, fileApi: { baseUrl: files.url } };
  }
  const report = new ProjectReport(options.log);
  const typeCheck = new BackgroundTypeCheck({
    onResult: (problems) => report.typeCheck(problems),
    onFailure: (message) =>
      options.log.warn(`the type check failed, so type errors are not shown: ${message}`),
  });
  // An image's runner serves the bundle that `build` made after type-checking the same sources.
  const checkTypes = !existsSync(join(dir, PREBUILT_BUNDLE));
  const loadExecutor = async () => {
    const { manifest, warnings } = await discover(dir, cozyTomlPath === undefined ? {} : { cozyTomlPath });
    const mainPath = resolve(dir, manifest.runtime.main);
    const handlers = await loadTenantModule(dir, mainPath);
    const injecting = [...manifest.functions, ...(manifest.realtime_functions ?? [])];
    if (injecting.some((fn) => fn.injection_json.length > 0)) await modelHost();
    if (loadedHost) {
      loadedHost.setManifest(manifest);
      void loadedHost.refreshDiskInventory();
    }
    const executor = new Executor({
      manifest,
      handlers,
      settings: runtime,
      outputsDir,
      ...(loadedHost ? { models: loadedHost } : {}),
    });
    const realtime = new RealtimeHost({
      manifest,
      handlers,
      settings: runtime,
      outputsDir,
      ...(loadedHost ? { models: loadedHost } : {}),
      onSessionEnd: (end) => options.log.logLine(sessionLine(end)),
    });
    return { executor, realtime, manifest, warnings, mainPath };
  };
  const afterLoad = (loaded: Awaited<ReturnType<typeof loadExecutor>>) => {
    report.discoveryWarnings(loaded.warnings);
    if (checkTypes) typeCheck.request({ projectDir: dir, mainPath: loaded.mainPath });
  };
  const first = await loadExecutor();
  let current = first.executor;
  servedManifest = first.manifest;
  executors.add(current);
  let currentRealtime = first.realtime;
  realtimeHosts.add(currentRealtime);
  const server = createDevServer({
    executor: () => current,
    onRunDone: (result, status) => options.log.logLine(accessLine(result, status)),
    modelCache: () => loadedHost?.stats() ?? {},
    offerResolvedCozyModels: (resolved) => loadedHost?.setResolvedCozyModels(resolved),
    functions: () => current.manifestFunctions(),
    models: modelControl,
  });
  const realtime = attachRealtime(server, {
    host: () => currentRealtime,
    maxFrameBytes: runtime.maxWsFrameBytes,
  });
  await listen(server, options.listen);
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  afterLoad(first);

  let watcher: SourceWatcher | undefined;
  if (options.watch) {
    watcher = await watchSources(dir, {
      ignore: [outputsDir],
      onChange: () => typeCheck.cancel(),
      onError: (message) => options.log.warn(message),
      reload: async () => {
        try {
          const loaded = await loadExecutor();
          const next = loaded.executor;
          current = next;
          servedManifest = loaded.manifest;
          executors.add(next);
          currentRealtime = loaded.realtime;
          realtimeHosts.add(loaded.realtime);
          // Realtime hosts too, while sessions opened on them last.
          for (const old of realtimeHosts)
            if (old !== loaded.realtime && old.active === 0) realtimeHosts.delete(old);
          // Older executors are kept only while runs started on them are still in flight.
          for (const executor of executors)
            if (executor !== next && executor.inFlight === 0) executors.delete(executor);
          options.log.info(`reloaded: ${next.functionNames().join(", ") || "no functions"}`);
          afterLoad(loaded);
        } catch (error) {
          options.log.error(`reload failed, still serving the previous code:\n${(error as Error).message}`);
        }
      },
    });
  }

  return {
    url: `http://${host}:${address.port}`,
    functions: [
      ...current.functionNames(),
      ...currentRealtime.functionNames().map((name) => `${name} (realtime)`),
    ],
    async close() {
      await watcher?.close();
      await typeCheck.close();
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      await Promise.all([
        ...[...executors].map((executor) => executor.drain(options.drainTimeoutMs)),
        ...[...realtimeHosts].map((old) => old.drain(options.drainTimeoutMs)),
      ]);
      server.closeAllConnections();
      realtime.terminateAll();
      await closed;
      await loadedHost?.close();
      await files?.close();
    },
  };
}

/** Session and cache logs as plain lines (the host logs pino-style: fields, then the message). */
function sessionLog(log: LocalRunnerOptions["log"]): SessionLog {
  const line = (write: (message: string) => void) =>
    ((fields: unknown, message?: string) =>
      write(typeof fields === "string" ? fields : (message ?? ""))) as SessionLog["info"];
  return { info: line((m) => log.info(m)), warn: line((m) => log.warn(m)) };
}

function logModelEvent(event: RunEvent, log: LocalRunnerOptions["log"]): void {
  if (event.type === "model.download.started") log.info(`downloading ${event.payload.model_id} ...`);
  else if (event.type === "model.download.completed" && !event.payload.cached)
    log.info(`downloaded ${event.payload.model_id} in ${event.payload.duration_ms} ms`);
  else if (event.type === "model.download.failed")
    log.warn(`download of ${event.payload.model_id} failed (${event.payload.error_type})`);
}

function listen(server: Server, address: ListenAddress): Promise<void> {
  return new Promise((done, fail) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      fail(
        error.code === "EADDRINUSE"
          ? new UserError(
              `${error.message}: another process is listening there; pick another --listen address`,
            )
          : error,
      );
    });
    server.listen(address.port, address.host, () => {
      server.off("error", fail);
      done();
    });
  });
}

/** One log line per realtime session, like a run's access line. */
function sessionLine(end: SessionEnd): string {
  const outcome = end.closedBy === "peer" ? "closed by the client" : end.reason;
  const detail = end.failure ? ` (${end.failure.errorMessage})` : "";
  return `ws ${end.functionName} ${end.sessionId} ${end.durationMs.toFixed(1)} ms ${outcome}${detail}`;
}

function accessLine(result: RunResult, status: number): string {
  const outcome = result.success ? "ok" : `${result.errorType}: ${result.safeMessage}`;
  return `${status} ${result.functionName} ${result.runId} ${result.totalMs.toFixed(1)} ms ${outcome}`;
}
