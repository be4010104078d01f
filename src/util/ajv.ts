import { createRequire } from "node:module";
import type { Ajv2020 as Ajv2020Class, Options } from "ajv/dist/2020.js";
import type { FormatsPlugin } from "ajv-formats";

// ajv and ajv-formats are CommonJS; `require` gives their constructors without default-export guessing.
const require = createRequire(import.meta.url);
const Ajv2020 = require("ajv/dist/2020.js") as typeof Ajv2020Class;
const addFormats = require("ajv-formats") as FormatsPlugin;

export type Ajv = Ajv2020Class;

/**
 * The one ajv configuration used for manifests: JSON Schema draft 2020-12, strict mode, the
 * formats that `@format` accepts.
 *
 * Validation stops at the first error (no `allErrors`): with it, a payload of a million wrong
 * array items built a million error objects (seconds of CPU and gigabytes of memory), and only
 * the first few are ever reported.
 *
 * `ownProperties`: a property counts as present only when the data has it as its own. Without
 * it, ajv reads `data.constructor` (or `valueOf`, `toString`...) through the prototype, so an
 * optional property of such a name was "present" in every payload that left it out, and failed.
 *
 * `strictTuples` is off: it rejects any `prefixItems` that is not a closed fixed-length tuple, so
 * TypeScript's optional (`[a, b?]`) and rest (`[a, ...b[]]`) tuples could never compile, though
 * their schemas are exact.
 */
export function createAjv(options: Options = {}): Ajv {
  const ajv = new Ajv2020({
    strict: true,
    strictTuples: false,
    allErrors: false,
    ownProperties: true,
    ...options,
  });
  addFormats(ajv);
  return ajv;
}
