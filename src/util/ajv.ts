import { createRequire } from "node:module";
import type { Ajv2020 as Ajv2020Class, Options } from "ajv/dist/2020.js";
import type { FormatsPlugin } from "ajv-formats";

// ajv and ajv-formats are CommonJS; `require` gives their constructors without default-export guessing.
const require = createRequire(import.meta.url);
const Ajv2020 = require("ajv/dist/2020.js") as typeof Ajv2020Class;
const addFormats = require("ajv-formats") as FormatsPlugin;

export type Ajv = Ajv2020Class;

/**
 * The one ajv configuration used for manifests: JSON Schema draft 2020-12, strict mode, every
 * error reported, the formats that `@format` accepts.
 *
 * `strictTuples` is off: it rejects any `prefixItems` that is not a closed fixed-length tuple, so
 * TypeScript's optional (`[a, b?]`) and rest (`[a, ...b[]]`) tuples could never compile, though
 * their schemas are exact.
 */
export function createAjv(options: Options = {}): Ajv {
  const ajv = new Ajv2020({ strict: true, strictTuples: false, allErrors: true, ...options });
  addFormats(ajv);
  return ajv;
}
