/**
 * `serve`'s start-up guard (the Python SDK entrypoint's): with
 * `COZY_MANIFEST_PATH` naming an existing cozy.toml, the installed gen-worker must satisfy its
 * `gen_worker` range (exit 2); anything that stops the check is only a warning.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { checkGenWorkerVersion, GenWorkerVersionError } from "../../../src/adapters/grpc/serve.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "version-guard-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const log = () => ({ warn: vi.fn(), debug: vi.fn() });

describe("checkGenWorkerVersion", () => {
  it("passes quietly when the installed version is in the range", async () => {
    const file = join(dir, "cozy.toml");
    await writeFile(file, 'gen_worker = ">=0.1.0,<0.2.0"\n');
    const logger = log();
    await checkGenWorkerVersion(file, logger, "0.1.3");
    expect(logger.warn).not.toHaveBeenCalled();
    expect(logger.debug).toHaveBeenCalledOnce();
  });

  it("throws an exit-2 error naming the file, the range, the installed version and the fix", async () => {
    const file = join(dir, "cozy.toml");
    await writeFile(file, 'gen_worker = ">=0.2.0,<0.3.0"\n');
    const error = await checkGenWorkerVersion(file, log(), "0.1.0").catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(GenWorkerVersionError);
    expect((error as GenWorkerVersionError).exitCode).toBe(2);
    expect((error as Error).message).toBe(
      `${file} (COZY_MANIFEST_PATH) requires gen_worker ">=0.2.0,<0.3.0", but the installed gen-worker is 0.1.0: ` +
        "install a matching version (npm install 'gen-worker@>=0.2.0 <0.3.0') and rebuild the image, " +
        "or widen gen_worker in that cozy.toml to include 0.1.0",
    );
  });

  it("only warns when the file is missing or cannot be parsed", async () => {
    const missing = join(dir, "nope.toml");
    const logger = log();
    await checkGenWorkerVersion(missing, logger, "0.1.0");
    expect(logger.warn).toHaveBeenCalledWith(
      { cozyToml: missing },
      `COZY_MANIFEST_PATH names ${missing}, which does not exist: the gen_worker version check is skipped`,
    );
    const file = join(dir, "cozy.toml");
    await writeFile(file, 'name = "x"\n');
    await checkGenWorkerVersion(file, logger, "0.1.0");
    expect(logger.warn).toHaveBeenLastCalledWith(
      { cozyToml: file, problem: "has no gen_worker key" },
      `COZY_MANIFEST_PATH names ${file}, which has no gen_worker key: the gen_worker version check is skipped`,
    );
  });
});
