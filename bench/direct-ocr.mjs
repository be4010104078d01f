// The baseline of bench/models.mjs: the same PaddleOCR detection work per request as the bench
// endpoint, called in a plain loop on an onnxruntime-node session. Prints JSON.
//   node bench/direct-ocr.mjs <model.onnx> <size> <seconds> [concurrency]
import { createRequire } from "node:module";
import { keepOrtTelemetryOff } from "../dist/settings/ort-telemetry.js";
import { detInput, textPixels } from "./projects/synthetic-input.js";

keepOrtTelemetryOff();

const { InferenceSession, Tensor } = createRequire(import.meta.url)("onnxruntime-node");
const [path, sizeText, secondsText, concurrencyText = "1"] = process.argv.slice(2);
const size = Number(sizeText);
const session = await InferenceSession.create(path, { executionProviders: ["cpu"] });
const runOnce = async (seed) => {
  const outputs = await session.run({ x: new Tensor("float32", detInput(size, seed), [1, 3, size, size]) });
  return textPixels(Object.values(outputs)[0].data);
};
await runOnce(0);
const until = performance.now() + Number(secondsText) * 1000;
const started = performance.now();
let runs = 0;
const loop = async () => {
  while (performance.now() < until) await runOnce(++runs);
};
await Promise.all(Array.from({ length: Number(concurrencyText) }, loop));
console.log(JSON.stringify({ runs, seconds: (performance.now() - started) / 1000 }));
