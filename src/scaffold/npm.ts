import { existsSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { gte, valid } from "semver";
import { ScaffoldError } from "./scaffold.js";

/** The first npm that honours package.json `allowScripts` (older ones run every install script). */
export const ALLOW_SCRIPTS_NPM = "11.16.0";

/**
 * Packs a package folder into `destDir` exactly as `npm publish` would (its `files`, no
 * node_modules) and returns the tarball's file name. `--ignore-scripts`: the folder is an installed
 * or built gen-worker, not a checkout to build.
 */
export async function packPackage(packageDir: string, destDir: string): Promise<string> {
  if (!existsSync(join(packageDir, "dist", "index.js"))) {
    throw new ScaffoldError(
      `gen-worker in ${packageDir} is not built (no dist/index.js): run \`npm run build\` there, then init again`,
      "failure",
    );
  }
  const args = ["pack", packageDir, "--ignore-scripts", "--json", "--pack-destination", destDir];
  const result = await execa("npm", args, { cwd: destDir, reject: false });
  if (result.failed) {
    const why =
      (result as { code?: string }).code === "ENOENT" ? "npm is not on PATH" : lastLines(result.stderr);
    throw new ScaffoldError(
      `init packs the gen-worker it runs into the project with npm pack, which failed (${why}): ` +
        "install npm (it comes with Node.js), or use `cozy-worker init --registry` to depend on gen-worker from the npm registry",
      "failure",
    );
  }
  const [packed] = JSON.parse(result.stdout) as Array<{ filename: string }>;
  if (!packed?.filename) throw new Error(`npm pack printed no file name: ${result.stdout}`);
  return packed.filename;
}

/** Whether the npm on PATH honours `allowScripts`; true when npm cannot be asked (nothing to warn about). */
export async function npmHonoursAllowScripts(): Promise<boolean> {
  const result = await execa("npm", ["--version"], { reject: false });
  const version = valid(result.stdout.trim());
  return result.failed || version === null || gte(version, ALLOW_SCRIPTS_NPM);
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-5).join(" ") || "no output";
}
