import { InferenceSession } from "onnxruntime-node";
import { keepOrtTelemetryOff } from "../../src/settings/ort-telemetry.js";

/**
 * A CPU session straight from onnxruntime-node, the baseline tests compare gen-worker against; with
 * telemetry off as gen-worker has it, so that it leaves no `mat-debug-<pid>.log` in the temp folder.
 */
export function createBareSession(path: string): Promise<InferenceSession> {
  keepOrtTelemetryOff();
  return InferenceSession.create(path, { executionProviders: ["cpu"] });
}
