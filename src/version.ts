import { readFileSync } from "node:fs";

interface PackageJson {
  version: string;
  engines: { node: string };
}

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as PackageJson;

/** This package's version, read from its package.json (the same file from src/ and dist/). */
export const GEN_WORKER_VERSION: string = pkg.version;

/** The Node.js versions this package supports (package.json `engines.node`). */
export const NODE_ENGINES: string = pkg.engines.node;
