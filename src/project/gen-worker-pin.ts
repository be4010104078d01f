import { readFile } from "node:fs/promises";
import { satisfies, validRange } from "semver";
import { parse, TomlError } from "smol-toml";

/** What a cozy.toml says about the installed gen-worker (see {@link checkGenWorkerPin}). */
export type GenWorkerPinCheck =
  /** There is no file there. */
  | { outcome: "missing" }
  /** The file cannot be read or parsed, or has no valid `gen_worker` range; `problem` says which. */
  | { outcome: "unreadable"; problem: string }
  | { outcome: "satisfied"; range: string }
  /** `npmRange` is the range as node-semver reads it (for `npm install 'gen-worker@<range>'`). */
  | { outcome: "mismatch"; range: string; npmRange: string };

/**
 * cozy.toml's `gen_worker` range as node-semver reads it: the Python SDK's comma-separated clauses
 * (`>=0.1.0,<0.2.0`) are accepted, as discovery accepts them. Undefined when it is not a range.
 */
export function npmRangeOf(range: string): string | undefined {
  const npmRange = range.replaceAll(",", " ").replace(/\s+/g, " ").trim();
  return validRange(npmRange) === null ? undefined : npmRange;
}

/**
 * Checks `installed` against the `gen_worker` range of the cozy.toml at `file`, reading nothing else
 * of it: `serve`'s start-up guard (the Python SDK entrypoint's), where problems with the rest of the
 * file are not this check's business.
 */
export async function checkGenWorkerPin(file: string, installed: string): Promise<GenWorkerPinCheck> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { outcome: "missing" };
    if (code === "EISDIR") return { outcome: "unreadable", problem: "is a directory, not a cozy.toml" };
    return { outcome: "unreadable", problem: `cannot be read: ${(error as Error).message}` };
  }
  let range: unknown;
  try {
    range = parse(text).gen_worker;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const summary = (error.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
    return { outcome: "unreadable", problem: `is not valid TOML (line ${error.line}: ${summary})` };
  }
  if (range === undefined) return { outcome: "unreadable", problem: "has no gen_worker key" };
  if (typeof range !== "string" || range.trim() === "") {
    return {
      outcome: "unreadable",
      problem: 'has a gen_worker that is not a range string such as ">=0.1.0 <0.2.0"',
    };
  }
  const npmRange = npmRangeOf(range);
  if (npmRange === undefined) {
    return {
      outcome: "unreadable",
      problem: `has gen_worker "${range.trim()}", which is not a version range`,
    };
  }
  if (satisfies(installed, npmRange, { includePrerelease: true })) {
    return { outcome: "satisfied", range: range.trim() };
  }
  return { outcome: "mismatch", range: range.trim(), npmRange };
}
