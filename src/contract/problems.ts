import { relative, sep } from "node:path";

/** One thing wrong with a tenant project, pinned to a place in a file when we know it. */
export interface Problem {
  file: string;
  line?: number;
  column?: number;
  message: string;
}

/** `file:line:col: message`, the form editors and terminals turn into links. */
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
