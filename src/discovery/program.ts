import { Project, ts } from "ts-morph";
import { ownEntry } from "../host/package.js";

/**
 * The file that declares gen-worker's public types: the built `index.d.ts` next to this module
 * when running from dist/, or `index.ts` when running from source (tests).
 */
export const SDK_ENTRY = ownEntry("index.d.ts");

/**
 * A TypeScript program holding the tenant's entry module and what it imports, nothing more.
 *
 * `gen-worker` always resolves to this CLI's own types, so discovery works before the tenant has
 * installed anything and agrees with the runtime that will execute the handlers.
 */
export function createTenantProgram(
  mainPath: string,
  overrides: ts.CompilerOptions = {},
): { project: Project; entry: ts.SourceFile } {
  const project = new Project({
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2023.d.ts"],
      module: ts.ModuleKind.Preserve,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      allowImportingTsExtensions: true,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      allowJs: true,
      types: [],
      paths: { "gen-worker": [SDK_ENTRY] },
      ...overrides,
    },
    skipAddingFilesFromTsConfig: true,
    skipFileDependencyResolution: true,
  });
  const entry = project.addSourceFileAtPath(mainPath);
  project.resolveSourceFileDependencies();
  return { project, entry: entry.compilerNode };
}
