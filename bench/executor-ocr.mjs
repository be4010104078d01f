// bench/models.mjs's in-process variant: the bench endpoint run through the executor and the model
// host, as the worker runs it, with no HTTP client on the machine. Prints JSON.
//   HF_ENDPOINT=... WORKER_MODEL_CACHE_DIR=... node bench/executor-ocr.mjs <size> <seconds> [concurrency]
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { discover } from "../dist/discovery/discover.js";
import { readMachineInfo } from "../dist/host/machine-info.js";
import { createModelHost } from "../dist/models/host/model-host.js";
import { Executor } from "../dist/runtime/executor.js";
import { loadTenantModule } from "../dist/runtime/tenant-loader.js";
import { devRunnerSettingsFromEnv } from "../dist/settings/dev-runner.js";

const project = fileURLToPath(new URL("projects/ocr", import.meta.url));
const [sizeText, secondsText, concurrencyText = "1"] = process.argv.slice(2);
const { manifest } = await discover(project);
const handlers = await loadTenantModule(project, join(project, manifest.runtime.main));
const quiet = { info() {}, warn() {} };
const settings = devRunnerSettingsFromEnv();
const models = createModelHost({
  settings: settings.models,
  log: quiet,
  machine: await readMachineInfo(settings.host),
  manifest,
});
const executor = new Executor({ manifest, handlers, settings: settings.runtime, models });
let runs = 0;
const runOnce = async () => {
  const result = await executor.run({
    runId: `r${++runs}`,
    functionName: "detect",
    payload: { size: Number(sizeText), seed: runs },
    payloadBytes: 24,
  });
  if (!result.success) throw new Error(result.errorMessage);
};
await runOnce();
runs = 0;
const until = performance.now() + Number(secondsText) * 1000;
const started = performance.now();
const loop = async () => {
  while (performance.now() < until) await runOnce();
};
await Promise.all(Array.from({ length: Number(concurrencyText) }, loop));
console.log(JSON.stringify({ runs, seconds: (performance.now() - started) / 1000 }));
await models.close();
