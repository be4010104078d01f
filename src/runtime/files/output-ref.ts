import { ValidationError } from "../../contract/errors.js";

/** Longest run id, in UTF-8 bytes: it names folders (`<runDir>/<run_id>/`, `runs/<run_id>/outputs/`), within the usual 255-byte limit of a file name. */
export const MAX_RUN_ID_BYTES = 200;

/** Longest segment of an output ref, in UTF-8 bytes: the limit of a file name on common file systems. */
export const MAX_REF_SEGMENT_BYTES = 255;

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
    const bytes = Buffer.byteLength(segment);
    if (bytes > MAX_REF_SEGMENT_BYTES) {
      throw refused(
        ref,
        `the name ${JSON.stringify(abbreviate(segment))} is ${bytes} bytes; each folder or file name may have at most ${MAX_REF_SEGMENT_BYTES} bytes (UTF-8): use a shorter name`,
      );
    }
  }
  return full;
}

/**
 * Why a run id is unusable, or undefined. A run id names the run's folders, so it must be one
 * plain path segment of 1 to {@link MAX_RUN_ID_BYTES} bytes.
 */
export function runIdProblem(runId: string): string | undefined {
  if (runId === "") return "run_id must not be empty: give every run its own id";
  const bytes = Buffer.byteLength(runId);
  if (bytes > MAX_RUN_ID_BYTES) {
    return `run_id ${JSON.stringify(abbreviate(runId))} is ${bytes} bytes long; at most ${MAX_RUN_ID_BYTES} bytes (UTF-8) are allowed: use a shorter id`;
  }
  if (runId === "." || runId === ".." || /[/\\\0]/.test(runId)) {
    return `run_id ${JSON.stringify(runId)} must be one path segment: no '/', '\\' or NUL, and not '.' or '..'`;
  }
  return undefined;
}

export function assertRunId(runId: string): void {
  const problem = runIdProblem(runId);
  if (problem) throw new ValidationError(`invalid run id: ${problem}`);
}

function abbreviate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function refused(ref: string, rule: string): ValidationError {
  return new ValidationError(`invalid output ref ${JSON.stringify(abbreviate(ref))}: ${rule}`);
}
