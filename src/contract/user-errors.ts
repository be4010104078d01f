import { formatProblem, type Problem } from "./problems.js";

/** How a failed command exits: 1 when it failed, 2 when it was invoked wrongly (a flag, an argument, a variable). */
export type FailureExitCode = 1 | 2;

export interface UserErrorOptions extends ErrorOptions {
  /** Default 1. */
  exitCode?: FailureExitCode;
  /** Each thing to fix, printed on its own line; default: the message alone. */
  problems?: readonly (string | Problem)[];
  /** Lines that show why (a failing build step's last output), printed after the problems. */
  details?: readonly string[];
}

/**
 * A failure the user can fix (their input, project, configuration or environment), as opposed to
 * a bug in gen-worker. The CLI prints its problems without a stack and exits with its exit code;
 * messages say what to change.
 */
export class UserError extends Error {
  readonly exitCode: FailureExitCode;
  readonly problems: readonly (string | Problem)[];
  readonly details: readonly string[];

  constructor(message: string, options: UserErrorOptions = {}) {
    const { exitCode = 1, problems, details = [], ...errorOptions } = options;
    super(message, errorOptions);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.problems = problems ?? [message];
    this.details = details;
  }

  /** A last line after the problems, such as how many there were. */
  get summary(): string | undefined {
    return undefined;
  }

  /** The problems as lines: `file:line:col: message` for those pinned to a place. */
  problemLines(): string[] {
    return this.problems.map((problem) => (typeof problem === "string" ? problem : formatProblem(problem)));
  }
}

/** Problems found in a project; the message lists each as `file:line:col: message`. */
export class ProblemsError extends UserError {
  declare readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[]) {
    super(problems.map(formatProblem).join("\n"), { problems });
  }
}
