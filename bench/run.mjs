// `npm run bench`: every benchmark, each next to its baseline measured in the same run.
import { cpus, totalmem } from "node:os";
import { formatBytes } from "../dist/util/format-bytes.js";
import { benchBuild } from "./build.mjs";
import { benchDiscovery } from "./discovery.mjs";
import { benchDownload, printDownload } from "./download.mjs";
import { benchExecutor } from "./executor.mjs";
import { benchGrpc, printGrpc } from "./grpc.mjs";
import { benchModels, printModels } from "./models.mjs";
import { benchOrtClassifier, printOrtClassifier } from "./ort-classifier.mjs";
import { benchRunner, printRunner } from "./runner.mjs";
import { benchServing, printServing } from "./serving.mjs";

const cpu = cpus()[0]?.model ?? "unknown CPU";
console.log(
  `machine: ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
);

console.log("\n## Discovery (`cozy-worker discover`, whole process, median of 5)");
console.log("| project | median ms | min ms | max ms |\n|---|---|---|---|");
for (const row of benchDiscovery()) {
  console.log(
    `| ${row.project} | ${row.median.toFixed(0)} | ${row.min.toFixed(0)} | ${row.max.toFixed(0)} |`,
  );
}

console.log("\n## Executor overhead (per task, microseconds)");
const executor = await benchExecutor();
console.log("| path | p50 µs | p99 µs |\n|---|---|---|");
console.log(
  `| direct handler call | ${executor.direct.p50.toFixed(1)} | ${executor.direct.p99.toFixed(1)} |`,
);
console.log(
  `| through the executor | ${executor.viaExecutor.p50.toFixed(1)} | ${executor.viaExecutor.p99.toFixed(1)} |`,
);
console.log(
  `overhead: p50 ${(executor.viaExecutor.p50 - executor.direct.p50).toFixed(1)} µs, p99 ${(executor.viaExecutor.p99 - executor.direct.p99).toFixed(1)} µs`,
);

printRunner(await benchRunner());

// The long run (a million tasks on one stream, exactly once, RSS flat) is separate: bench/grpc-million.mjs.
printGrpc(await benchGrpc());

printDownload(await benchDownload());

console.log("\n## Image build (`cozy-worker build examples/hello`, whole process)");
const build = await benchBuild();
if (!build) {
  console.log("skipped: no Docker engine (DOCKER_HOST) and scripts/docker-up.sh could not start one");
} else {
  const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
  console.log("| build | wall s | context |\n|---|---|---|");
  for (const [name, run] of [
    ["cold (no deps image, no layer cache)", build.cold],
    ["again, nothing changed", build.warm],
    ["after a one-line handler change", build.changed],
  ]) {
    console.log(`| ${name} | ${(run.ms / 1000).toFixed(1)} | ${formatBytes(run.result.contextBytes)} |`);
  }
  console.log(
    `image ${mb(build.imageBytes)}: base ${build.base} ${mb(build.baseBytes)} (${((100 * build.baseBytes) / build.imageBytes).toFixed(0)}%), gen-worker and dependencies + project ${mb(build.imageBytes - build.baseBytes)}; one-line change rebuild ${(build.changed.ms / 1000).toFixed(1)} s (target < 5 s)`,
  );
}

printModels(await benchModels());

// Dynamic batching and warm start through the executor and the model host (CPU here; the GPU harness,
// scripts/gpu-stage and scripts/gpu-device.sh, runs the same script on CUDA).
printServing(await benchServing());
printOrtClassifier(await benchOrtClassifier());
