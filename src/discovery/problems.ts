import type { ts } from "ts-morph";
import { type Problem, ProblemsError } from "../contract/problems.js";

export { formatProblem, type Problem } from "../contract/problems.js";

/** Discovery found problems; each is printed as `file:line:col: message`. */
export class DiscoveryError extends ProblemsError {}

export function problemAt(node: ts.Node, message: string): Problem {
  const sourceFile = node.getSourceFile();
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
  return { file: sourceFile.fileName, line: line + 1, column: character + 1, message };
}
