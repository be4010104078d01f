import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SOURCE_ROOT = new URL("./", import.meta.url);

/**
 * A file of this package: the built one (`dist/index.js`, `dist/index.d.ts`) when running from
 * dist/, the TypeScript source (`src/index.ts`) when running from source under the tests.
 */
export function ownEntry(builtName: "index.js" | "index.d.ts"): string {
  const built = fileURLToPath(new URL(builtName, SOURCE_ROOT));
  return existsSync(built) ? built : fileURLToPath(new URL("index.ts", SOURCE_ROOT));
}
