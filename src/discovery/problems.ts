import type { ts } from "ts-morph";
import type { Problem } from "../contract/problems.js";
import { ProblemsError } from "../contract/user-errors.js";

/** Discovery found problems; each is printed as `file:line:col: message`. */
export class DiscoveryError extends ProblemsError {
  override get summary(): string {
    const count = this.problems.length;
    return `discovery failed: ${count} problem${count === 1 ? "" : "s"}`;
  }
}

export function problemAt(node: ts.Node, message: string): Problem {
  const sourceFile = node.getSourceFile();
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
  return { file: sourceFile.fileName, line: line + 1, column: character + 1, message };
}
