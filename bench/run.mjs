// `npm run bench`: every benchmark, each next to its baseline measured in the same run.
import { cpus, totalmem } from "node:os";
import { benchDiscovery } from "./discovery.mjs";

const cpu = cpus()[0]?.model ?? "unknown CPU";
console.log(`machine: ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
console.log("");
console.log("## Discovery (`cozy-worker discover`, whole process, median of 5)");
console.log("| project | median ms | min ms | max ms |");
console.log("|---|---|---|---|");
for (const row of benchDiscovery()) {
  console.log(`| ${row.project} | ${row.median.toFixed(0)} | ${row.min.toFixed(0)} | ${row.max.toFixed(0)} |`);
}
