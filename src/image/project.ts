import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BuildError } from "./errors.js";

/** Lockfiles that pin a project's dependencies, one per package manager. */
const LOCKFILES = ["package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml"];

/**
 * The files a project needs before anything else runs: cozy.toml, package.json and its lockfile.
 * Every missing file is reported at once.
 */
export async function checkProject(dir: string): Promise<void> {
  const problems: string[] = [];
  if (!existsSync(join(dir, "cozy.toml"))) {
    problems.push(
      `no cozy.toml in ${dir}: run cozy-worker build in a project folder (cozy-worker init makes one)`,
    );
  }
  const packageJson = join(dir, "package.json");
  if (!existsSync(packageJson)) {
    problems.push(
      `no package.json in ${dir}: the image installs the dependencies it lists (npm init -y makes one)`,
    );
  } else {
    try {
      JSON.parse(await readFile(packageJson, "utf8"));
    } catch (error) {
      problems.push(`${packageJson} is not valid JSON (${(error as Error).message}): fix it`);
    }
    if (!LOCKFILES.some((file) => existsSync(join(dir, file)))) {
      problems.push(
        `no package-lock.json in ${dir}: run npm install to write it, and commit it (the image's dependencies must be pinned)`,
      );
    }
  }
  if (problems.length > 0) throw BuildError.of(problems, `${dir} is not a buildable project:`);
}
