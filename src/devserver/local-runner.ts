import { type FSWatcher, watch } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { runtimeSettingsFromEnv } from "../config/environment.js";
import { discover } from "../discovery/discover.js";
import type { RunResult } from "../runtime/executor.js";
import { Executor } from "../runtime/executor.js";
import { loadTenantModule } from "../runtime/tenant-loader.js";
import { createDevServer } from "./server.js";

export interface ListenAddress {
  host: string;
  port: number;
}

export interface LocalRunnerOptions {
  dir: string;
  listen: ListenAddress;
  outputsDir: string;
  watch: boolean;
  drainTimeoutMs: number;
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

const IGNORED_DIRS = /(^|[/\\])(\.cozy|node_modules|\.git|dist|outputs)([/\\]|$)/;

/**
 * `cozy-worker run --local`: discovers the project, bundles and imports its handlers, and serves
 * them over HTTP. With `watch`, a source change rebuilds and swaps in new handlers; runs in flight
 * finish on the code they started with, and a broken change keeps the old code serving.
 */
export async function startLocalRunner(options: LocalRunnerOptions): Promise<LocalRunner> {
  const dir = resolve(options.dir);
  const outputsDir = resolve(options.outputsDir);
  const executors = new Set<Executor>();
  let current = await loadExecutor(dir, outputsDir);
  executors.add(current);
  const server = createDevServer({
    executor: () => current,
    onRunDone: (result, status) => options.log.logLine(accessLine(result, status)),
  });
  await listen(server, options.listen);
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let watcher: FSWatcher | undefined;
  if (options.watch) {
    watcher = watchSources(dir, async () => {
      try {
        const next = await loadExecutor(dir, outputsDir);
        current = next;
        executors.add(next);
        // Older executors are kept only while runs started on them are still in flight.
        for (const executor of executors)
          if (executor !== next && executor.inFlight === 0) executors.delete(executor);
        options.log.info(`reloaded: ${next.functionNames().join(", ") || "no functions"}`);
      } catch (error) {
        options.log.error(`reload failed, still serving the previous code:\n${(error as Error).message}`);
      }
    });
  }

  return {
    url: `http://${host}:${address.port}`,
    functions: current.functionNames(),
    async close() {
      watcher?.close();
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      await Promise.all([...executors].map((executor) => executor.drain(options.drainTimeoutMs)));
      server.closeAllConnections();
      await closed;
    },
  };
}

async function loadExecutor(dir: string, outputsDir: string): Promise<Executor> {
  const { manifest } = await discover(dir);
  const handlers = await loadTenantModule(dir, resolve(dir, manifest.runtime.main));
  return new Executor({ manifest, handlers, settings: runtimeSettingsFromEnv(), outputsDir });
}

function watchSources(dir: string, reload: () => Promise<void>): FSWatcher {
  let timer: NodeJS.Timeout | undefined;
  let reloading = Promise.resolve();
  return watch(dir, { recursive: true }, (_event, file) => {
    if (file && IGNORED_DIRS.test(file)) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      reloading = reloading.then(reload);
    }, 150);
  });
}

function listen(server: Server, address: ListenAddress): Promise<void> {
  return new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(address.port, address.host, () => {
      server.off("error", fail);
      done();
    });
  });
}

function accessLine(result: RunResult, status: number): string {
  const outcome = result.success ? "ok" : `${result.errorType}: ${result.safeMessage}`;
  return `${status} ${result.functionName} ${result.runId} ${result.totalMs.toFixed(1)} ms ${outcome}`;
}
