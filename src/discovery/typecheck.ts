import { dirname, relative, sep } from "node:path";
import { ts } from "ts-morph";
import type { Problem } from "../contract/problems.js";
import { PACKAGE_ROOT } from "../host/package.js";
import { findPackage } from "../util/find-package.js";
import { createTenantProgram } from "./program.js";

/**
 * TypeScript's errors in the project's own files (those `main` reaches, outside node_modules),
 * with discovery's compiler settings plus Node's globals and modules (@types/node from the
 * project, else the copy gen-worker's dependencies bring). Discovery reads only handler
 * signatures; the handlers' bodies run as written, so `build` refuses them with errors and
 * `run --local` prints them as warnings.
 */
export function typeErrors(projectDir: string, mainPath: string): Problem[] {
  const nodePackage = [projectDir, PACKAGE_ROOT].map((dir) => findPackage("@types/node", dir)).find(Boolean);
  const nodeTypes = nodePackage && dirname(nodePackage);
  const { project } = createTenantProgram(
    mainPath,
    nodeTypes ? { types: ["node"], typeRoots: [nodeTypes] } : {},
  );
  const program = project.getProgram().compilerObject;
  const problems: Problem[] = [];
  for (const file of program.getSourceFiles()) {
    const rel = relative(projectDir, file.fileName);
    if (rel.startsWith("..") || rel.split(sep).includes("node_modules")) continue;
    const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    for (const diagnostic of diagnostics) {
      if (diagnostic.category !== ts.DiagnosticCategory.Error) continue;
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
      if (diagnostic.start === undefined) {
        problems.push({ file: file.fileName, message });
        continue;
      }
      const { line, character } = file.getLineAndCharacterOfPosition(diagnostic.start);
      problems.push({ file: file.fileName, line: line + 1, column: character + 1, message });
    }
  }
  return problems;
}
