import { build } from "esbuild";
import { PREBUILT_BUNDLE } from "../runtime/tenant-loader.js";
import { type ContextEntry, textEntry } from "./context.js";
import { BuildError } from "./errors.js";

/**
 * The project's handlers bundled into one ESM file for the image, at {@link PREBUILT_BUNDLE}.
 * Packages, gen-worker included, stay imports resolved from the image's node_modules, so the
 * handlers share the worker's gen-worker module (its error classes) as in development.
 */
export async function bundleHandlers(mainPath: string): Promise<ContextEntry> {
  const result = await build({
    entryPoints: [mainPath],
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "inline",
    logLevel: "silent",
    outfile: "main.mjs",
  }).catch(
    (error: { errors?: { text: string; location?: { file: string; line: number; column: number } }[] }) => {
      const problems = (error.errors ?? []).map((e) =>
        e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ${e.text}` : e.text,
      );
      throw new BuildError("the handlers could not be bundled: fix these errors", problems);
    },
  );
  const output = result.outputFiles[0];
  if (!output) throw new BuildError(`esbuild wrote nothing for ${mainPath}: is it a TypeScript module?`);
  return textEntry(PREBUILT_BUNDLE, Buffer.from(output.contents));
}
