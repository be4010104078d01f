import type { BuildResult, Plugin } from "esbuild";
import { UserError } from "../contract/user-errors.js";

/** The handlers do not compile; each problem reads `file:line:col: message`. */
export class TenantBuildError extends UserError {
  declare readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join("\n"), { problems });
  }
}

type EsbuildFailure = {
  errors?: { text: string; location?: { file: string; line: number; column: number } }[];
};

/**
 * The tenant's entry bundled by esbuild into one ESM file for Node 20, with inline source maps and
 * packages left as imports: what the dev runner imports and what `cozy-worker build` puts in the
 * image. esbuild loads only when called (the image has none). Errors become a
 * {@link TenantBuildError} whose problems read `file:line:col: message`.
 */
export async function bundleTenant(
  mainPath: string,
  options: { outfile: string; write: boolean; plugins?: Plugin[] },
): Promise<BuildResult<{ write: boolean }>> {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [mainPath],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "inline",
    logLevel: "silent",
    ...options,
  }).catch((error: EsbuildFailure) => {
    const problems = (error.errors ?? []).map((e) =>
      e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ${e.text}` : e.text,
    );
    throw new TenantBuildError(problems.length > 0 ? problems : [String(error)]);
  });
  if (result.errors.length > 0) throw new TenantBuildError(result.errors.map((e) => e.text));
  return result;
}
