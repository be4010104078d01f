import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The one module that knows where gen-worker's own files lie. It sits two levels below the package
 * root both as source (`src/host/package.ts`) and built (`dist/host/package.js`).
 */
const ROOT_URL = new URL("../../", import.meta.url);
const CODE_ROOT_URL = new URL("../", import.meta.url);

interface PackageJson {
  version: string;
  engines: { node: string };
}

const pkg = JSON.parse(readFileSync(new URL("package.json", ROOT_URL), "utf8")) as PackageJson;

/** gen-worker's package folder (holding package.json, dist/, templates/, proto/), with a trailing slash. */
export const PACKAGE_ROOT: string = fileURLToPath(ROOT_URL);

/** This package's version, read from its package.json (the same file from src/ and dist/). */
export const GEN_WORKER_VERSION: string = pkg.version;

/** The Node.js versions this package supports (package.json `engines.node`). */
export const NODE_ENGINES: string = pkg.engines.node;

/** The project templates and gen-worker's own Dockerfiles. */
export const TEMPLATES_DIR: string = fileURLToPath(new URL("templates/", ROOT_URL));

/** The scheduler protocol's `.proto` files. */
export const PROTO_DIR: string = fileURLToPath(new URL("proto/", ROOT_URL));

/**
 * A file of this package: the built one (`dist/index.js`, `dist/index.d.ts`) when running from
 * dist/, the TypeScript source (`src/index.ts`) when running from source under the tests.
 */
export function ownEntry(builtName: "index.js" | "index.d.ts"): string {
  const built = fileURLToPath(new URL(builtName, CODE_ROOT_URL));
  return existsSync(built) ? built : fileURLToPath(new URL("index.ts", CODE_ROOT_URL));
}
