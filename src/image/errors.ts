import { UserError } from "../contract/user-errors.js";
/**
 * Why an image could not be built, pushed or run: one sentence saying what to fix, and the
 * lines that show why (a failing step's last output). The CLI prints it without a stack, exit 1.
 */
export class BuildError extends UserError {
  constructor(message: string, details: readonly string[] = []) {
    super(message, { details });
  }

  /** One problem as the message itself; several listed under `heading`. */
  static of(problems: string[], heading: string): BuildError {
    return problems.length === 1 ? new BuildError(problems[0] as string) : new BuildError(heading, problems);
  }
}
