#!/usr/bin/env node
// Enforces the layering of src/ (docs/architecture/01-overview.md):
//   1. the rules in .dependency-cruiser.cjs (layers, file-level cycles, src importing test/bench/scripts);
//   2. no cycles between the top-level folders of src/;
//   3. the production worker's import graph contains no module under src/dev/;
//   4. environment variables are read only in src/settings/.
// Usage: node scripts/check-architecture.mjs [root]   (root defaults to this repository)
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cruise } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";

const ARROW = " → ";

// src/<folder>/... collapses to src/<folder>; a file directly under src/ (src/index.ts) is its own node.
const folderOf = (source) => source.match(/^src\/[^/]+/)?.[0];

function report(title, failures, okSummary) {
  if (failures.length === 0) {
    console.log(`${title}: ok (${okSummary})`);
    return true;
  }
  console.log(`${title}: FAILED`);
  for (const line of failures) console.log(`  ${line}`);
  return false;
}

async function cruiseSrc() {
  const options = await extractDepcruiseOptions("./.dependency-cruiser.cjs");
  const { output } = await cruise(
    ["src"],
    options,
    {},
    { tsConfig: extractTSConfig(options.tsConfig.fileName) },
  );
  return output;
}

function checkRules({ summary }) {
  const failures = new Set(
    summary.violations.map(({ rule, from, to, cycle }) =>
      cycle
        ? `${rule.name}: ${[from, ...cycle.map((step) => step.name)].join(ARROW)}`
        : `${rule.name}: ${from}${ARROW}${to}`,
    ),
  );
  return report(
    "layers and file cycles",
    [...failures],
    `${summary.totalCruised} modules, ${summary.totalDependenciesCruised} dependencies`,
  );
}

function folderGraph(modules) {
  const graph = new Map(); // folder → (folder → example "file → file")
  for (const { source, dependencies } of modules) {
    const from = folderOf(source);
    if (!from) continue;
    if (!graph.has(from)) graph.set(from, new Map());
    for (const { resolved } of dependencies) {
      const to = folderOf(resolved);
      if (to && to !== from && !graph.get(from).has(to))
        graph.get(from).set(to, `${source}${ARROW}${resolved}`);
    }
  }
  return graph;
}

function stronglyConnectedComponents(graph) {
  const index = new Map();
  const lowLink = new Map();
  const stack = [];
  const components = [];
  const visit = (node) => {
    index.set(node, index.size);
    lowLink.set(node, index.get(node));
    stack.push(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        lowLink.set(node, Math.min(lowLink.get(node), lowLink.get(next)));
      } else if (stack.includes(next)) {
        lowLink.set(node, Math.min(lowLink.get(node), index.get(next)));
      }
    }
    if (lowLink.get(node) === index.get(node)) {
      components.push(stack.splice(stack.indexOf(node)));
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return components;
}

function checkFolderCycles({ modules }) {
  const graph = folderGraph(modules);
  const failures = [];
  for (const component of stronglyConnectedComponents(graph).filter((c) => c.length > 1)) {
    failures.push(`cycle between ${component.sort().join(", ")}:`);
    for (const from of component) {
      for (const [to, example] of graph.get(from)) {
        if (component.includes(to)) failures.push(`  ${from}${ARROW}${to} (e.g. ${example})`);
      }
    }
  }
  const edges = [...graph.values()].reduce((sum, targets) => sum + targets.size, 0);
  return report("folder cycles", failures, `${graph.size} folders, ${edges} folder dependencies`);
}

function checkProductionGraph({ modules }) {
  const bySource = new Map(modules.map((module) => [module.source, module]));
  // bin/cozy-worker.js loads src/cli/main.ts for every command, so only its static imports count;
  // `serve` and tenant code (through src/index.ts) load everything they reach, dynamic imports included.
  // Type-only imports are followed too: under verbatimModuleSyntax `import { type X } from "m"` still
  // loads m, and dependency-cruiser marks it "type-only" just like `import type`.
  const entries = [
    { entry: "src/cli/main.ts", follow: (dependency) => !dependency.dynamic },
    { entry: "src/cli/serve.ts", follow: () => true },
    { entry: "src/index.ts", follow: () => true },
  ];
  const failures = [];
  const production = new Set();
  for (const { entry, follow } of entries) {
    if (!bySource.has(entry)) {
      failures.push(`entry ${entry} is not in the dependency graph`);
      continue;
    }
    const parent = new Map([[entry, null]]);
    const queue = [entry];
    for (const source of queue) {
      production.add(source);
      for (const dependency of bySource.get(source)?.dependencies ?? []) {
        if (follow(dependency) && !parent.has(dependency.resolved)) {
          parent.set(dependency.resolved, source);
          queue.push(dependency.resolved);
        }
      }
    }
    for (const source of queue.filter((s) => s.startsWith("src/dev/"))) {
      const chain = [];
      for (let step = source; step !== null; step = parent.get(step)) chain.unshift(step);
      failures.push(`${source} (from ${chain.join(ARROW)})`);
    }
  }
  const localModules = [...production].filter((source) => source.startsWith("src/")).length;
  return report("production graph", failures, `${localModules} modules under src/, none under src/dev/`);
}

// Blanks comments but keeps string literals and line breaks, so line numbers stay right and a glob
// such as "src/**/*.ts" or a URL inside a string is not mistaken for the start of a comment.
const stripComments = (code) =>
  code.replace(
    /("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\/[^\n]*|\/\*[\s\S]*?\*\//g,
    (match, literal) => literal ?? match.replace(/[^\n]/g, " "),
  );

function checkEnvironmentReads() {
  const excluded = /^src\/(settings|adapters\/grpc\/generated)\//;
  const files = readdirSync("src", { recursive: true })
    .map((file) => join("src", file))
    .filter((file) => file.endsWith(".ts") && !excluded.test(file))
    .sort();
  const failures = [];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const original = text.split("\n");
    stripComments(text)
      .split("\n")
      .forEach((line, i) => {
        // `env.X` or `env[...]` on a variable named env; `options.env` (a flag's value) is not one.
        if (/process\.env|(?<![.\w$])env\s*(\.|\[)/.test(line))
          failures.push(`${file}:${i + 1}: ${original[i].trim()}`);
      });
  }
  return report("environment reads", failures, `${files.length} files outside src/settings/`);
}

const root = process.argv[2];
if (root) console.log(`root: ${root}`);
process.chdir(root ?? fileURLToPath(new URL("..", import.meta.url)));

const result = await cruiseSrc();
const results = [
  checkRules(result),
  checkFolderCycles(result),
  checkProductionGraph(result),
  checkEnvironmentReads(),
];
process.exit(results.every(Boolean) ? 0 : 1);
