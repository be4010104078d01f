import { relative, sep } from "node:path";
import type { ts } from "ts-morph";

/** One thing wrong with the tenant project, pinned to a place in a file when we know it. */
export interface Problem {
  file: string;
  line?: number;
  column?: number;
  message: string;
}

/** Discovery found problems; each is printed as `file:line:col: message`. */
export class DiscoveryError extends Error {
  readonly problems: Problem[];

  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "DiscoveryError";
    this.problems = problems;
  }
}

export function formatProblem(problem: Problem): string {
  let where = displayPath(problem.file);
  if (problem.line !== undefined) {
    where += `:${problem.line}`;
    if (problem.column !== undefined) where += `:${problem.column}`;
  }
  return `${where}: ${problem.message}`;
}

/** A path relative to the working directory when it lies under it, else as given. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  if (rel === "" || rel.startsWith("..") || rel.startsWith(sep)) return file;
  return rel.split(sep).join("/");
}

export function problemAt(node: ts.Node, message: string): Problem {
  const sourceFile = node.getSourceFile();
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
  return { file: sourceFile.fileName, line: line + 1, column: character + 1, message };
}
