// One process of bench/serving.mjs: the bench/projects/serving endpoints run through the executor and
// the model host in this process, as the worker runs them. Prints one JSON line.
//
//   HF_ENDPOINT=... WORKER_MODEL_CACHE_DIR=... WORKER_ORT_PROVIDERS=cpu node bench/serving/driver.mjs <mode> ...
//     pull                                   download every model of the project into the disk cache
//     throughput <function> <seconds> <concurrency>
//                                            requests back to back from <concurrency> clients; request
//                                            latencies and the batch sizes metrics.run reported
//     first <function> <payload-json>        load the function's model (load_model_cmd), then time the
//                                            first request and a second one (WORKER_MODEL_WARMUP on or off)
//
// BENCH_PREBUILT=1 (the GPU harness): the manifest and the handlers come from the project's
// .cozy/manifest.json and .cozy/bundle/main.mjs instead of discovery and esbuild, which that host lacks.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { readMachineInfo } from "../../dist/host/machine-info.js";
import { createModelHost } from "../../dist/models/host/model-host.js";
import { Executor } from "../../dist/runtime/executor.js";
import { devRunnerSettingsFromEnv } from "../../dist/settings/dev-runner.js";

const PROJECT = fileURLToPath(new URL("../projects/serving", import.meta.url));

const [mode, ...args] = process.argv.slice(2);
let runCount = 0;
const { manifest, handlers } = await loadProject(PROJECT);
const settings = devRunnerSettingsFromEnv();
const events = [];
const quiet = { info() {}, warn() {} };
const loads = [];
const models = createModelHost({
  settings: settings.models,
  log: quiet,
  machine: await readMachineInfo(settings.host),
  manifest,
  onEvent: (event) => {
    if (event.type === "model.load.completed") loads.push(event.payload);
  },
});
const executor = new Executor({
  manifest,
  handlers,
  settings: settings.runtime,
  models,
  onEvent: (event) => {
    if (event.type === "metrics.run" || event.type === "metrics.inference") events.push(event);
  },
});

let result;
if (mode === "pull") {
  const ids = Object.values(manifest.models_by_function ?? {}).flatMap((keyspace) =>
    Object.values(keyspace).map((spec) => spec.ref),
  );
  await models.prefetch(ids);
  result = { pulled: [...new Set(ids)].sort() };
} else if (mode === "throughput") {
  result = await throughput(args[0], Number(args[1]), Number(args[2]));
} else if (mode === "first") {
  result = await firstRequest(args[0], JSON.parse(args[1]));
} else {
  throw new Error(`unknown mode ${mode}: pull, throughput or first`);
}
console.log(JSON.stringify(result));
await models.close();

async function loadProject(dir) {
  if (process.env.BENCH_PREBUILT === "1") {
    const manifest = JSON.parse(await readFile(join(dir, ".cozy/manifest.json"), "utf8"));
    const handlers = await import(pathToFileURL(join(dir, ".cozy/bundle/main.mjs")).href);
    return { manifest, handlers };
  }
  // Through variables, so that the GPU harness's bundle of this file leaves them out.
  const discovery = "../../dist/discovery/discover.js";
  const loader = "../../dist/runtime/tenant-loader.js";
  const { discover } = await import(discovery);
  const { loadTenantModule } = await import(loader);
  const { manifest } = await discover(dir);
  return { manifest, handlers: await loadTenantModule(dir, join(dir, manifest.runtime.main)) };
}

async function request(functionName, payload) {
  const runId = `r${++runCount}`;
  const started = performance.now();
  const outcome = await executor.run({ runId, functionName, payload, payloadBytes: 32 });
  const ms = performance.now() - started;
  if (!outcome.success) throw new Error(`${functionName} failed: ${outcome.errorMessage}`);
  return { runId, ms };
}

async function throughput(functionName, seconds, concurrency) {
  // The first request loads the model; then a short unmeasured spell so that both variants start warm.
  await request(functionName, { seed: 0 });
  await spell(functionName, 0.5, concurrency, () => {});
  events.length = 0;
  const latencies = [];
  const cpuBefore = process.cpuUsage();
  const { runs, elapsed } = await spell(functionName, seconds, concurrency, (ms) => latencies.push(ms));
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const sizes = {};
  for (const event of events) {
    if (event.type !== "metrics.run") continue;
    for (const size of event.payload.models?.[0]?.batch_sizes ?? []) sizes[size] = (sizes[size] ?? 0) + 1;
  }
  return {
    functionName,
    concurrency,
    runs,
    seconds: elapsed,
    perSecond: runs / elapsed,
    p50: quantile(latencies, 0.5),
    p90: quantile(latencies, 0.9),
    p99: quantile(latencies, 0.99),
    // This process's CPU time (every thread, ONNX Runtime's included) per request: what the work
    // costs, which other processes on the machine disturb far less than the wall-clock rate.
    cpuMsPerRequest: (cpu.user + cpu.system) / 1000 / runs,
    batchSizes: sizes,
  };
}

async function spell(functionName, seconds, concurrency, record) {
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  let runs = 0;
  const client = async () => {
    while (performance.now() < until) {
      const { ms } = await request(functionName, { seed: runCount + 1 });
      runs++;
      record(ms);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { runs, elapsed: (performance.now() - started) / 1000 };
}

async function firstRequest(functionName, payload) {
  const fn = manifest.functions.find((f) => f.name === functionName);
  const key = fn?.injection_json[0]?.model_ref.key;
  const ref = manifest.models_by_function?.[functionName]?.[key]?.ref;
  if (!ref) throw new Error(`${functionName} injects no model`);
  let started = performance.now();
  await models.loadModel(ref);
  const loadMs = performance.now() - started;
  const inference = (runId) =>
    events.find((event) => event.runId === runId && event.type === "metrics.inference")?.payload.ms;
  const first = await request(functionName, payload);
  started = performance.now();
  const second = await request(functionName, { ...payload, seed: (payload.seed ?? 0) + 1 });
  return {
    functionName,
    warmup: settings.models.warmup,
    loadMs,
    warmupMs: loads.at(-1)?.warmup_ms ?? 0,
    firstMs: first.ms,
    firstInferenceMs: inference(first.runId),
    secondMs: second.ms,
    secondInferenceMs: inference(second.runId),
  };
}

function quantile(sorted, q) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
