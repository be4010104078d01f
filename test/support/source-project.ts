import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Writes `<root>/<name>/` as a project: a cozy.toml naming `src/main.ts` and declaring `models`
 * (key → ref) in its `[models]`, and `src/main.ts` made of the lines of `main`; returns its folder.
 */
export async function writeSourceProject(
  root: string,
  name: string,
  main: string[],
  models: Record<string, string>,
): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, "src"), { recursive: true });
  const keys = Object.entries(models).map(([key, ref]) => `${key} = "${ref}"\n`);
  await writeFile(
    join(dir, "cozy.toml"),
    `schema_version = 1\nname = "${name}"\nmain = "src/main.ts"\ngen_worker = ">=0.1.0 <0.2.0"\n\n[models]\n${keys.join("")}`,
  );
  await writeFile(join(dir, "src/main.ts"), [...main, ""].join("\n"));
  return dir;
}
