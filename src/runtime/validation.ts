import type { ErrorObject, ValidateFunction } from "ajv";
import type { ManifestFunction } from "../contract/manifest.js";
import { type Ajv, createAjv } from "../util/ajv.js";
import { addOwnDefaultsKeyword, withOwnDefaults } from "./own-defaults.js";

export interface FunctionValidators {
  /** Validates a payload and fills in `@default` values. */
  input: ValidateFunction;
  /** Validates a single output, or one delta of a stream. */
  output: ValidateFunction;
}

/**
 * Compiles every function's validators once, at start, from the manifest's schemas. They stop at
 * the first error; a payload must pass `checkPayloadShape` (payload-shape.ts) before its input validator.
 */
export class ValidatorSet {
  private readonly inputAjv: Ajv = createAjv({ useDefaults: true });
  private readonly outputAjv: Ajv = createAjv();
  private readonly byName = new Map<string, FunctionValidators>();

  constructor(functions: readonly ManifestFunction[]) {
    addOwnDefaultsKeyword(this.inputAjv);
    for (const fn of functions) {
      this.byName.set(fn.name, {
        input: this.inputAjv.compile(withOwnDefaults(fn.input_schema) as object),
        output: this.outputAjv.compile(fn.output_schema),
      });
    }
  }

  get(functionName: string): FunctionValidators {
    const validators = this.byName.get(functionName);
    if (!validators) throw new Error(`no validators compiled for ${functionName}`);
    return validators;
  }
}

const MAX_REPORTED = 5;

/**
 * Ajv errors as one sentence naming JSON paths: `$.times must be <= 5; $.name is required`.
 * The errors of an `anyOf` collapse into one line listing the accepted types.
 */
export function describeValidationErrors(errors: readonly ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return "$ is invalid";
  const byPath = new Map<string, ErrorObject[]>();
  for (const error of errors) {
    const group = byPath.get(error.instancePath) ?? [];
    group.push(error);
    byPath.set(error.instancePath, group);
  }
  const lines: string[] = [];
  for (const [pointer, group] of byPath) {
    const path = jsonPath(pointer);
    if (group.some((error) => error.keyword === "anyOf")) {
      const types = group.filter((e) => e.keyword === "type").map(expectedType);
      lines.push(
        types.length > 0
          ? `${path} must be ${types.join(" or ")}`
          : `${path} matches none of its allowed shapes`,
      );
      continue;
    }
    for (const error of group) lines.push(describeOne(path, error));
  }
  const shown = lines.slice(0, MAX_REPORTED);
  if (lines.length > MAX_REPORTED) shown.push(`(${lines.length - MAX_REPORTED} more)`);
  return shown.join("; ");
}

/** An Asset, wherever the schema puts it, is `$defs.Asset`: its errors show the shape it takes. */
const ASSET_SCHEMA_PATH = "#/$defs/Asset/";
const ASSET_SHAPE = 'an object {"ref": "<file or URL>"}';

function expectedType(error: ErrorObject): string {
  return error.schemaPath === `${ASSET_SCHEMA_PATH}type` ? ASSET_SHAPE : String(error.params.type);
}

function describeOne(path: string, error: ErrorObject): string {
  switch (error.keyword) {
    case "type":
      return `${path} must be ${expectedType(error)}`;
    case "required":
      if (error.schemaPath === `${ASSET_SCHEMA_PATH}required`)
        return `${path} must be ${ASSET_SHAPE}: ${childPath(path, String(error.params.missingProperty))} is required`;
      return `${childPath(path, String(error.params.missingProperty))} is required`;
    case "enum":
      return `${path} must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "const":
      return `${path} must be ${JSON.stringify(error.params.allowedValue)}`;
    case "additionalProperties":
      return `${childPath(path, String(error.params.additionalProperty))} is not allowed`;
    default:
      return `${path} ${error.message ?? "is invalid"}`;
  }
}

/** `/boxes/0/x` → `$.boxes[0].x` (keys that are not identifiers are quoted). */
export function jsonPath(pointer: string): string {
  if (pointer === "") return "$";
  return pointer
    .slice(1)
    .split("/")
    .map((segment) => segment.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((path, key) => (/^\d+$/.test(key) ? `${path}[${key}]` : childPath(path, key)), "$");
}

export function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
