import { existsSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Plugin } from "esbuild";
import { ownEntry } from "../host/package.js";
import type { HandlerTable } from "./executor.js";
import { bundleTenant } from "./tenant-bundle.js";

/** gen-worker's own entry, so tenant code shares this process's error classes (instanceof works). */
const SDK_RUNTIME_ENTRY = pathToFileURL(ownEntry("index.js")).href;

/**
 * The handler bundle that `cozy-worker build` makes on the host and puts in the image. The image
 * has no esbuild and its files are root's, read-only to the worker, so the worker imports this
 * file instead of bundling at start (and starts faster).
 */
export const PREBUILT_BUNDLE = ".cozy/bundle/main.mjs";

let generation = 0;

/**
 * Imports the tenant's handlers: the prebuilt bundle in an image ({@link PREBUILT_BUNDLE}), else
 * bundles the TypeScript entry with esbuild into `<project>/.cozy/build/` and imports
 * it. Packages stay external (resolved from the project's node_modules), except `gen-worker`,
 * which is this runtime's own module. Each load writes a new file, so a reload gets fresh code.
 */
export async function loadTenantModule(projectDir: string, mainPath: string): Promise<HandlerTable> {
  const prebuilt = join(projectDir, PREBUILT_BUNDLE);
  if (existsSync(prebuilt)) {
    process.setSourceMapsEnabled(true);
    return (await import(pathToFileURL(prebuilt).href)) as HandlerTable;
  }
  const outDir = join(projectDir, ".cozy", "build");
  await mkdir(outDir, { recursive: true });
  generation++;
  const outfile = join(outDir, `main.${process.pid}.${generation}.mjs`);
  await bundleTenant(mainPath, { outfile, write: true, plugins: [sdkPlugin()] });
  process.setSourceMapsEnabled(true);
  const module = (await import(pathToFileURL(outfile).href)) as HandlerTable;
  await removeOlderBundles(outDir, outfile);
  return module;
}

function sdkPlugin(): Plugin {
  return {
    name: "gen-worker-sdk",
    setup(builder) {
      builder.onResolve({ filter: /^gen-worker$/ }, () => ({ path: SDK_RUNTIME_ENTRY, external: true }));
    },
  };
}

async function removeOlderBundles(outDir: string, keep: string): Promise<void> {
  const prefix = `main.${process.pid}.`;
  const files = await readdir(outDir);
  await Promise.all(
    files
      .filter((file) => file.startsWith(prefix) && join(outDir, file) !== keep)
      .map((file) => rm(join(outDir, file), { force: true })),
  );
}
