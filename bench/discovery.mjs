// Discovery wall time: `cozy-worker discover` on a generated 200-file, 50-handler project,
// next to the same figure for examples/hello. Median of 5 runs each, whole CLI process timed.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "bin/cozy-worker.js");
const RUNS = 5;

function generateLargeProject(dir, { files = 200, handlers = 50 } = {}) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "src/types"), { recursive: true });
  mkdirSync(join(dir, "src/handlers"), { recursive: true });
  mkdirSync(join(dir, "src/util"), { recursive: true });
  writeFileSync(
    join(dir, "cozy.toml"),
    'schema_version = 1\nname = "large"\nmain = "src/main.ts"\ngen_worker = ">=0.1.0"\n\n[models]\ndet = "hf:acme/det"\n',
  );
  const typeFiles = files - handlers - 1 - 50;
  for (let i = 0; i < typeFiles; i++) {
    writeFileSync(
      join(dir, `src/types/t${i}.ts`),
      `import type { Asset, Integer } from "gen-worker";\n` +
        `/** Options number ${i}. */\nexport interface Options${i} {\n` +
        `  /** @minimum 0 @maximum 1 @default 0.5 */\n  threshold?: number;\n` +
        `  mode: "fast" | "accurate" | "balanced";\n  tags: string[];\n  count: Integer;\n` +
        `  image?: Asset;\n  extra: Record<string, number>;\n  pair: [string, number];\n}\n` +
        `export interface Result${i} { labels: Array<{ name: string; score: number }>; elapsed: number | null }\n`,
    );
  }
  for (let i = 0; i < 50; i++) {
    writeFileSync(
      join(dir, `src/util/u${i}.ts`),
      `export function scale${i}(values: number[], factor: number): number[] {\n  return values.map((v) => v * factor + ${i});\n}\n`,
    );
  }
  const exports = [];
  for (let h = 0; h < handlers; h++) {
    const t = h % typeFiles;
    const model = h % 5 === 0 ? `, det: Model<"det">` : "";
    writeFileSync(
      join(dir, `src/handlers/h${h}.ts`),
      `import type { ActionContext, Model } from "gen-worker";\n` +
        `import type { Options${t}, Result${t} } from "../types/t${t}.js";\n` +
        `import { scale${h % 50} } from "../util/u${h % 50}.js";\n` +
        `/** Handler ${h}. @maxConcurrency 2 */\n` +
        `export async function handler_${h}(ctx: ActionContext, input: Options${t}${model}): Promise<Result${t}> {\n` +
        `  ctx.progress(0.5);\n  return { labels: input.tags.map((name) => ({ name, score: scale${h % 50}([1], 1)[0] ?? 0 })), elapsed: null };\n}\n`,
    );
    exports.push(`export * from "./handlers/h${h}.js";`);
  }
  writeFileSync(join(dir, "src/main.ts"), `${exports.join("\n")}\n`);
}

/** Wall time of a Node process with these arguments: median, min and max of RUNS runs. */
function timeNode(args) {
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    execFileSync(process.execPath, args, { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(RUNS / 2)], min: samples[0], max: samples[RUNS - 1] };
}

export function benchDiscovery() {
  const large = join(root, "bench/.work/large");
  generateLargeProject(large);
  return [
    {
      project: "examples/hello (1 file, 3 handlers)",
      ...timeNode([cli, "discover", join(root, "examples/hello")]),
    },
    { project: "generated (200 files, 50 handlers)", ...timeNode([cli, "discover", large]) },
    // What every discovery pays before reading a file: Node itself, then loading ts-morph.
    { project: "baseline: node -e 0", ...timeNode(["-e", "0"]) },
    {
      project: "baseline: node importing ts-morph",
      ...timeNode(["--input-type=module", "-e", 'await import("ts-morph")']),
    },
  ];
}
