import { ValidationError } from "../../contract/errors.js";

/**
 * The canonical ref of an output file: `runs/<runId>/outputs/<path>`. A ref not starting with
 * `runs/` is taken relative to the run's output folder. Refs that could leave that folder are refused.
 */
export function normalizeOutputRef(ref: string, runId: string): string {
  assertRunId(runId);
  const trimmed = ref.trim();
  const hadLeadingSlash = trimmed.startsWith("/");
  const relative = hadLeadingSlash ? trimmed.slice(1) : trimmed;
  const prefix = `runs/${runId}/outputs/`;
  if (relative === "") throw refused(ref, "ref must not be empty");
  if (relative.includes("\0")) throw refused(ref, "ref must not contain NUL");
  if (relative.includes("\\")) throw refused(ref, "ref must not contain '\\'");

  let full: string;
  if (relative.startsWith("runs/")) {
    if (!relative.startsWith(prefix)) throw refused(ref, `ref must start with '${prefix}'`);
    full = relative;
  } else if (hadLeadingSlash) {
    // An absolute path is almost surely a local file path given by mistake.
    throw refused(ref, `ref must start with '${prefix}' or be relative to it`);
  } else {
    full = prefix + relative;
  }

  for (const segment of full.split("/")) {
    if (segment === "..") throw refused(ref, "ref must not contain '..'");
    if (segment === ".") throw refused(ref, "ref must not contain '.' segments");
    if (segment === "") throw refused(ref, "ref must not contain empty segments or end with '/'");
  }
  return full;
}

/** A run id becomes a folder name, so it must be one plain path segment. */
export function assertRunId(runId: string): void {
  if (runId === "" || runId === "." || runId === ".." || /[/\\\0]/.test(runId)) {
    throw new ValidationError(`invalid run id ${JSON.stringify(runId)}: it must be one path segment`);
  }
}

function refused(ref: string, rule: string): ValidationError {
  return new ValidationError(`invalid output ref ${JSON.stringify(ref)}: ${rule}`);
}
