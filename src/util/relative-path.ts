import { UserError } from "../contract/user-errors.js";
/** A file path from a repo listing or a snapshot manifest that would escape its folder, or names nothing. */
export class UnsafePathError extends UserError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${reason}: ${JSON.stringify(path)}`);
  }
}

/**
 * The normal form of a path inside a model folder: `\` becomes `/`, leading
 * `/` are dropped, and an empty path or an empty, `.` or `..` component is refused, so the result can
 * always be joined under a folder without leaving it.
 */
export function normalizeRelativePath(path: string): string {
  const slashed = path.replaceAll("\\", "/").replace(/^\/+/, "");
  if (slashed === "") throw new UnsafePathError(path, "empty relative path");
  if (slashed.includes("\0")) throw new UnsafePathError(path, "NUL character in path");
  const parts = slashed.split("/");
  for (const part of parts) {
    if (part === "..") throw new UnsafePathError(path, "path traversal not allowed");
    if (part === "" || part === ".") throw new UnsafePathError(path, "empty or '.' path component");
  }
  // A Windows drive letter would make the path absolute there.
  if (/^[A-Za-z]:/.test(slashed)) throw new UnsafePathError(path, "absolute path not allowed");
  return slashed;
}
