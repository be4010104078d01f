/**
 * gen-worker/testing: run a project's endpoints in-process exactly as production does, from any
 * test runner, and fuzz them with payloads generated from their JSON Schemas.
 *
 *   const kit = await testKit("path/to/project", { models: { vad: "path/to/model.onnx" } });
 *   const r = await kit.run("card", { name: "x" });   // r.output, r.deltas, r.events, r.files, r.error
 *   await kit.close();
 *
 *   const report = await fuzz(kit, { runs: 200 });      // report.ok, report.endpoints[i].finding
 */
export {
  type EndpointFuzzResult,
  type FindingKind,
  type FuzzAttempt,
  type FuzzFinding,
  type FuzzOptions,
  type FuzzReport,
  fuzz,
} from "./fuzz.js";
export {
  formatEndpoint,
  formatFuzzReport,
  fuzzHeader,
  fuzzSummary,
  type ReportFormat,
} from "./fuzz-report.js";
export { type RunOptions, type TestKit, type TestKitOptions, testKit } from "./kit.js";
export type { FakeModel, ModelSource } from "./kit-models.js";
export type {
  AssetInput,
  AssetWire,
  DeltaOf,
  HandlerNames,
  JsonOf,
  OutputOf,
  PayloadOf,
  RunError,
  RunOutcome,
} from "./types.js";
