// A long run: `node bench/grpc-million.mjs [tasks]` (default 1,000,000) sends that many trivial
// tasks through one `cozy-worker serve` on one stream at concurrency 64 (bench/servers/grpc-load.mjs,
// run ids m0…m{tasks-1}), counts every result by run id, and samples the worker's RSS every
// SAMPLE_S seconds. The same run through the bare grpc-js echo first is the baseline: it checks the
// load scheduler's own counting and shows what a peer that keeps nothing does with its memory.
//
// Verdicts. Exactly once: no run id without a result, none with two, no stall; else exit 1.
// Memory: peak RSS (VmHWM) < 250 MB, and flat: of the samples taken once 10% of the tasks are done,
// the highest of the last third is at most FLAT_MB above the highest of the first third; else exit 2.
import { statSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { procMemory, startPeers } from "./grpc.mjs";

const TOTAL = Number(process.argv[2] ?? 1_000_000);
const CONCURRENCY = 64;
const SAMPLE_S = 2;
const WARMUP_SHARE = 0.1;
const PEAK_LIMIT_MB = 250;
const FLAT_MB = 25;

const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;

/** All TOTAL tasks through one peer, its RSS series printed as it goes. */
async function drive(peer) {
  const series = [];
  console.log(`\n### ${peer.name}\n| s | tasks done | RSS |\n|---|---|---|`);
  peer.scheduler.onProgress(({ done, seconds }) => {
    const rss = procMemory(peer.pid, "VmRSS");
    series.push({ done, rss });
    console.log(`| ${seconds.toFixed(0)} | ${done} | ${mb(rss)} |`);
  });
  const counts = await peer.command("count", {
    total: TOTAL,
    concurrency: CONCURRENCY,
    progressMs: SAMPLE_S * 1000,
  });
  return { name: peer.name, counts, series, peak: procMemory(peer.pid, "VmHWM") };
}

function exactlyOnce({ missing, duplicates, failed, unexpected, stalled }) {
  return missing === 0 && duplicates === 0 && failed === 0 && unexpected === 0 && !stalled;
}

/** Least-squares slope of RSS over tasks done, in bytes per task. */
function bytesPerTask(samples) {
  const n = samples.length;
  const meanX = samples.reduce((sum, s) => sum + s.done, 0) / n;
  const meanY = samples.reduce((sum, s) => sum + s.rss, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const s of samples) {
    covariance += (s.done - meanX) * (s.rss - meanY);
    variance += (s.done - meanX) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

function memoryVerdict({ series, peak }) {
  const settled = series.filter((s) => s.done >= WARMUP_SHARE * TOTAL);
  const third = Math.floor(settled.length / 3);
  if (third < 2)
    return { ok: false, peak, reason: `only ${settled.length} samples after warm-up: run more tasks` };
  const highest = (samples) => Math.max(...samples.map((s) => s.rss));
  const growth = highest(settled.slice(-third)) - highest(settled.slice(0, third));
  const ok = peak < PEAK_LIMIT_MB * 1e6 && growth <= FLAT_MB * 1e6;
  return { ok, peak, growth, slope: bytesPerTask(settled) };
}

function report(run) {
  const { counts } = run;
  const memory = memoryVerdict(run);
  console.log(
    `${run.name}: ${counts.total} tasks in ${counts.seconds.toFixed(1)} s (${(counts.total / counts.seconds).toFixed(0)} tasks/s); ` +
      `${counts.streams} stream(s); missing ${counts.missing}, duplicated ${counts.duplicates}, failed ${counts.failed}, unexpected ${counts.unexpected}${counts.stalled ? ", STALLED" : ""}: ` +
      `${exactlyOnce(counts) ? "exactly once" : "NOT EXACTLY ONCE"}`,
  );
  console.log(
    memory.reason
      ? `${run.name}: memory: peak ${mb(memory.peak)}; ${memory.reason}`
      : `${run.name}: memory: peak ${mb(memory.peak)} (limit ${PEAK_LIMIT_MB} MB), last third's max − first third's max after warm-up ${mb(memory.growth)} (flat: ≤ ${FLAT_MB} MB), slope ${(memory.slope / 1024).toFixed(2)} KiB/task: ${memory.ok ? "PASS" : "FAIL"}`,
  );
  return { exact: exactlyOnce(counts), memoryOk: memory.ok };
}

async function benchGrpcMillion() {
  const started = [];
  try {
    const { worker, echo } = await startPeers(started);
    return { echo: await drive(echo), worker: await drive(worker) };
  } finally {
    for (const child of started) child.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = statSync(fileURLToPath(new URL("../dist/cli/main.js", import.meta.url))).mtime.toISOString();
  console.log(
    `machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, Node ${process.version}; dist/ built ${built}`,
  );
  console.log(`## ${TOTAL} trivial tasks, one stream, concurrency ${CONCURRENCY}; RSS every ${SAMPLE_S} s`);
  const runs = await benchGrpcMillion();
  console.log("\n## Verdicts");
  const echo = report(runs.echo);
  const worker = report(runs.worker);
  if (!echo.exact || !worker.exact) process.exit(1);
  if (!worker.memoryOk) process.exit(2);
}
