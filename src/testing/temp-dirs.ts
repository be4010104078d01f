import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Temporary folders of kits not yet closed: removed when the process exits, if not before. */
const open = new Set<string>();
let hooked = false;

export async function makeTempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cozy-test-kit-"));
  open.add(dir);
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const path of open) rmSync(path, { recursive: true, force: true });
    });
  }
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  open.delete(dir);
  await rm(dir, { recursive: true, force: true });
}
