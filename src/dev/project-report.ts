import { formatProblem, type Problem } from "../contract/problems.js";

/** At most this many type errors are printed at a time; the rest are counted. */
const MAX_TYPE_ERRORS = 20;

export interface ReportLog {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * What the dev runner tells about the project besides serving it: discovery's warnings (cozy.toml
 * typos, unused endpoint tables, ...) and the handlers' type errors. Each set is printed when it
 * differs from the one printed last, so a reload that changes nothing about it prints nothing,
 * and a set that empties says it is fixed; the first type check also says when it found nothing.
 */
export class ProjectReport {
  private warnings: string[] = [];
  private typeErrors: string[] = [];
  private typeChecked = false;

  constructor(private readonly log: ReportLog) {}

  discoveryWarnings(problems: readonly Problem[]): void {
    const lines = problems.map(formatProblem);
    if (sameLines(lines, this.warnings)) return;
    if (lines.length === 0) this.log.info("the project's warnings are fixed");
    for (const line of lines) this.log.warn(line);
    this.warnings = lines;
  }

  typeCheck(problems: readonly Problem[]): void {
    const lines = problems.map(formatProblem);
    const first = !this.typeChecked;
    this.typeChecked = true;
    // The first check says it ran even when clean: the check takes a second or two after serving starts.
    if (first && lines.length === 0) {
      this.log.info("the handlers type-check");
      return;
    }
    if (sameLines(lines, this.typeErrors)) return;
    this.typeErrors = lines;
    if (lines.length === 0) {
      this.log.info("the type errors are fixed: the handlers type-check");
      return;
    }
    const count = `${lines.length} type error${lines.length === 1 ? "" : "s"}`;
    this.log.warn(
      `${count} in the handlers: they still run here, but cozy-worker build refuses them until fixed`,
    );
    for (const line of lines.slice(0, MAX_TYPE_ERRORS)) this.log.warn(line);
    if (lines.length > MAX_TYPE_ERRORS) this.log.warn(`... and ${lines.length - MAX_TYPE_ERRORS} more`);
  }
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}
