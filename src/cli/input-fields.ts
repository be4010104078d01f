import { distance } from "fastest-levenshtein";
import type { JsonSchema } from "../contract/json-schema.js";

const ASSET_REF = "#/$defs/Asset";
const DEFS_PREFIX = "#/$defs/";
const MAX_DEPTH = 32;

/** The JSON types a field may take other than a string. */
export type NonStringType = "number" | "integer" | "boolean" | "null" | "object" | "array";

/** What one top-level field of a payload takes, `$ref`s followed. */
export interface FieldShape {
  /** An Asset: `{"ref": "<file or URL>"}`. */
  asset: boolean;
  /** Any JSON value: the schema says nothing about its type. */
  anything: boolean;
  /** Any string, or only these (the strings of an `enum` or `const`). */
  strings: "any" | Set<string>;
  /** The other types it takes, from `type` and from the values of `enum` and `const`. */
  types: Set<NonStringType>;
}

/**
 * The top-level fields of an endpoint's input schema, as discovery writes it (`{$ref, $defs}`):
 * their names, and what each takes.
 */
export class InputFields {
  readonly names: readonly string[];
  private readonly defs: Record<string, unknown>;
  private readonly properties: Record<string, unknown>;
  /** The schema of undeclared fields (`additionalProperties`), when the payload is open. */
  private readonly extra: unknown;

  constructor(root: JsonSchema) {
    this.defs = isRecord(root.$defs) ? root.$defs : {};
    const object = this.resolve(root);
    this.properties = isRecord(object?.properties) ? object.properties : {};
    this.names = Object.keys(this.properties);
    const extra = object?.additionalProperties;
    this.extra = extra === undefined || extra === false ? undefined : extra;
  }

  /** Whether `key` is a field the endpoint does not declare (and does not take as a map key). */
  isUnknown(key: string): boolean {
    return !Object.hasOwn(this.properties, key) && this.extra === undefined && this.names.length > 0;
  }

  /** What `key` takes; undefined for an unknown field. */
  shape(key: string): FieldShape | undefined {
    const schema = Object.hasOwn(this.properties, key) ? this.properties[key] : this.extra;
    if (schema === undefined) return undefined;
    const shape: FieldShape = { asset: false, anything: false, strings: new Set(), types: new Set() };
    this.collect(schema, shape, 0);
    return shape;
  }

  /** The declared field `key` most likely misspells, if one is close: a typo, not another word. */
  nearest(key: string): string | undefined {
    let best: { name: string; edits: number } | undefined;
    for (const name of this.names) {
      const edits = distance(key.toLowerCase(), name.toLowerCase());
      if (best === undefined || edits < best.edits) best = { name, edits };
    }
    if (best === undefined) return undefined;
    // Two edits let a swap of two letters (`lable`) through; in names of three letters or fewer they would let anything through.
    const length = Math.max(key.length, best.name.length);
    const allowed = length <= 3 ? 1 : Math.max(2, Math.floor(length / 3));
    return best.edits <= allowed ? best.name : undefined;
  }

  private collect(schema: unknown, shape: FieldShape, depth: number): void {
    if (depth > MAX_DEPTH || !isRecord(schema)) {
      if (schema !== false) shape.anything = true;
      return;
    }
    if (typeof schema.$ref === "string") {
      if (schema.$ref === ASSET_REF) shape.asset = true;
      else this.collect(this.target(schema.$ref), shape, depth + 1);
      return;
    }
    let typed = false;
    for (const branches of [schema.anyOf, schema.oneOf]) {
      if (!Array.isArray(branches)) continue;
      typed = true;
      for (const branch of branches) this.collect(branch, shape, depth + 1);
    }
    if ("const" in schema || Array.isArray(schema.enum)) {
      typed = true;
      for (const value of "const" in schema ? [schema.const] : (schema.enum as unknown[]))
        addLiteral(shape, value);
    } else if (schema.type !== undefined) {
      typed = true;
      for (const type of Array.isArray(schema.type) ? schema.type : [schema.type]) {
        if (type === "string") shape.strings = "any";
        else shape.types.add(type as NonStringType);
      }
    }
    if (!typed) shape.anything = true;
  }

  /** The object schema at the root, `$ref`s followed. */
  private resolve(schema: unknown): Record<string, unknown> | undefined {
    let current = schema;
    for (let depth = 0; depth <= MAX_DEPTH && isRecord(current); depth++) {
      if (typeof current.$ref !== "string") return current;
      current = this.target(current.$ref);
    }
    return undefined;
  }

  private target(ref: string): unknown {
    if (!ref.startsWith(DEFS_PREFIX)) return undefined;
    const name = ref.slice(DEFS_PREFIX.length).replaceAll("~1", "/").replaceAll("~0", "~");
    return Object.hasOwn(this.defs, name) ? this.defs[name] : undefined;
  }
}

function addLiteral(shape: FieldShape, value: unknown): void {
  if (typeof value === "string") {
    if (shape.strings !== "any") shape.strings.add(value);
  } else if (value === null) shape.types.add("null");
  else if (typeof value === "boolean") shape.types.add("boolean");
  else if (typeof value === "number") shape.types.add(Number.isInteger(value) ? "integer" : "number");
  else shape.types.add(Array.isArray(value) ? "array" : "object");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
