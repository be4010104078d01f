import { bundleTenant, TenantBuildError } from "../runtime/tenant-bundle.js";
import { PREBUILT_BUNDLE } from "../runtime/tenant-loader.js";
import { type ContextEntry, textEntry } from "./context.js";
import { BuildError } from "./errors.js";

/**
 * The project's handlers bundled into one ESM file for the image, at {@link PREBUILT_BUNDLE}.
 * Packages, gen-worker included, stay imports resolved from the image's node_modules, so the
 * handlers share the worker's gen-worker module (its error classes) as in development.
 */
export async function bundleHandlers(mainPath: string): Promise<ContextEntry> {
  let result: Awaited<ReturnType<typeof bundleTenant>>;
  try {
    result = await bundleTenant(mainPath, { outfile: "main.mjs", write: false });
  } catch (error) {
    if (error instanceof TenantBuildError)
      throw new BuildError("the handlers could not be bundled: fix these errors", error.problems);
    throw error;
  }
  const output = result.outputFiles?.[0];
  if (!output) throw new BuildError(`esbuild wrote nothing for ${mainPath}: is it a TypeScript module?`);
  return textEntry(PREBUILT_BUNDLE, Buffer.from(output.contents));
}
