import { CommanderError } from "commander";
import { WorkerError } from "../contract/errors.js";
import { UserError } from "../contract/user-errors.js";
import { ExitCode, type Output } from "./output.js";

/**
 * The one place where a command's failure becomes what the user sees and the exit code: the
 * user's own problems print without a stack (exit 1, or 2 for a wrong invocation), anything
 * else is a bug in gen-worker and says so.
 */
export function reportFailure(error: unknown, out: Output): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Success : ExitCode.Usage;
  if (error instanceof UserError) {
    for (const line of error.problemLines()) out.error(line);
    for (const line of error.details) out.info(`  ${line}`);
    if (error.summary !== undefined) out.error(error.summary);
    return error.exitCode;
  }
  // A run's failure (a model that cannot be fetched, a file that cannot be read) or the system's
  // (a file that cannot be written): the message says what went wrong.
  if (error instanceof WorkerError || isSystemError(error)) {
    out.error(error.message);
    return ExitCode.Failure;
  }
  out.error(error instanceof Error ? error.message : String(error));
  out.error("this is a bug in gen-worker; please report it with the command you ran");
  return ExitCode.Failure;
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return error instanceof Error && typeof code === "string" && /^E[A-Z]+$/.test(code);
}
