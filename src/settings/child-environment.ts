import { processEnvironment } from "./read.js";

/** This process's environment for a child process, with `TMPDIR` pointing at `tempDir`. */
export function environmentWithTempDir(tempDir: string): Record<string, string | undefined> {
  return { ...processEnvironment(), TMPDIR: tempDir };
}
