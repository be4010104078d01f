/**
 * How `cozy-worker serve` starts where it departs from the Python SDK's entrypoint (gen-worker 0.2.1)
 * on purpose (docs/differences.md): a missing WORKER_JWT is a usage error (exit 2, the Python
 * entrypoint exited 1), and the manifest may be given with --manifest (the Python entrypoint read
 * only /app/.cozy/manifest.json).
 */
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";

describe("cozy-worker serve at start", () => {
  it("exits 2 without WORKER_JWT, saying what it is for, before connecting", async () => {
    const result = await cli(["serve", "examples/hello"], {
      WORKER_JWT: undefined,
      SCHEDULER_ADDR: "127.0.0.1:9",
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("WORKER_JWT is not set");
  });

  it("reads the manifest --manifest names: a missing one is exit 1, naming it", async () => {
    const result = await cli(["serve", "examples/hello", "--manifest", "/nonexistent/manifest.json"], {
      WORKER_JWT: "t",
      SCHEDULER_ADDR: "127.0.0.1:9",
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no manifest at /nonexistent/manifest.json");
  });
});
