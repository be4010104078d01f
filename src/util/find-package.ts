import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** The package Node would load for `name` from `fromDir`: the nearest `node_modules/name` upwards. */
export function findPackage(name: string, fromDir: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
