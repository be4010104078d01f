/**
 * fast-check arbitraries from the JSON Schemas discovery writes: values that respect required and
 * optional properties, bounds (minimum, maximum, exclusive ones), lengths, patterns, formats, enums
 * and consts, item counts, tuples, records, `$ref`s into `$defs` (recursive ones too) and anyOf.
 * Everything shrinks: a failing payload is reduced to a small one that still fails.
 */
import fc from "fast-check";
import type { JsonSchema } from "../contract/json-schema.js";
import { formatStrings } from "./string-formats.js";

/** A schema the generator cannot produce values for; the message says which part. */
export class UnsupportedSchemaError extends Error {
  override name = "UnsupportedSchemaError";
}

export interface SchemaArbitraryOptions {
  /** Values for Asset fields (`$ref: "#/$defs/Asset"`). */
  asset: fc.Arbitrary<unknown>;
  /** Values of the root object's properties in place of their schema's (the model key fields). */
  rootProperties?: Readonly<Record<string, fc.Arbitrary<unknown>>>;
  /** `$ref`s followed freely before only the shortest way to a value is taken; default 5. */
  depth?: number;
}

/** Values of `schema` (a root schema with its `$defs`). Throws {@link UnsupportedSchemaError}. */
export function schemaArbitrary(schema: JsonSchema, options: SchemaArbitraryOptions): fc.Arbitrary<unknown> {
  return new SchemaValues(schema, options).root();
}

type Schema = JsonSchema | boolean;

/** Array items generated beyond `minItems`, and string characters beyond `minLength`. */
const ITEM_SPAN = 6;
const CHAR_SPAN = 16;
const SAFE = Number.MAX_SAFE_INTEGER;
const ANY_JSON: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 2 });

class SchemaValues {
  private readonly defs: Readonly<Record<string, Schema>>;
  /** Fewest `$ref`s a value of each definition must pass through (Infinity: none is finite). */
  private readonly costs = new Map<string, number>();
  private readonly cache = new Map<string, fc.Arbitrary<unknown>>();
  private readonly building = new Set<string>();

  constructor(
    private readonly schema: JsonSchema,
    private readonly options: SchemaArbitraryOptions,
  ) {
    this.defs = (schema.$defs ?? {}) as Record<string, Schema>;
    this.computeCosts();
  }

  root(): fc.Arbitrary<unknown> {
    const budget = this.options.depth ?? 5;
    const name = refName(this.schema);
    if (name !== undefined && name !== "Asset") {
      if (this.refCost(name) === Number.POSITIVE_INFINITY) {
        throw new UnsupportedSchemaError(`${name} is recursive with no finite value`);
      }
      return this.make(this.definition(name), budget, this.options.rootProperties);
    }
    return this.make(this.schema, budget, this.options.rootProperties);
  }

  private make(schema: Schema, budget: number, overrides?: SchemaArbitraryOptions["rootProperties"]) {
    if (schema === true) return ANY_JSON;
    if (schema === false) throw new UnsupportedSchemaError("a schema that admits no value (false)");
    if (typeof schema.$ref === "string") return this.ref(schema.$ref, budget - 1);
    if ("const" in schema) return fc.constant(schema.const);
    if (Array.isArray(schema.enum)) {
      if (schema.enum.length === 0) throw new UnsupportedSchemaError("an empty enum");
      return fc.constantFrom(...(schema.enum as unknown[]));
    }
    const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
    if (Array.isArray(union)) return this.union(union, budget);
    if (schema.allOf !== undefined || schema.not !== undefined) {
      throw new UnsupportedSchemaError("allOf and not are not generated (discovery does not write them)");
    }
    const type = schema.type;
    if (Array.isArray(type)) {
      return oneOf(type.map((t) => this.typed({ ...schema, type: t }, String(t), budget, overrides)));
    }
    if (typeof type === "string") return this.typed(schema, type, budget, overrides);
    if (schema.properties !== undefined || schema.additionalProperties !== undefined) {
      return this.object(schema, budget, overrides);
    }
    if (schema.items !== undefined || schema.prefixItems !== undefined) return this.array(schema, budget);
    return ANY_JSON;
  }

  private typed(
    schema: JsonSchema,
    type: string,
    budget: number,
    overrides: SchemaArbitraryOptions["rootProperties"],
  ): fc.Arbitrary<unknown> {
    switch (type) {
      case "null":
        return fc.constant(null);
      case "boolean":
        return fc.boolean();
      case "integer":
        return numbers(schema, true);
      case "number":
        return numbers(schema, false);
      case "string":
        return strings(schema);
      case "array":
        return this.array(schema, budget);
      case "object":
        return this.object(schema, budget, overrides);
      default:
        throw new UnsupportedSchemaError(`unknown type ${JSON.stringify(type)}`);
    }
  }

  private ref(ref: string, budget: number): fc.Arbitrary<unknown> {
    const name = refName({ $ref: ref });
    if (name === undefined || !(name in this.defs)) {
      throw new UnsupportedSchemaError(`$ref ${ref} does not point into #/$defs`);
    }
    if (name === "Asset") return this.options.asset;
    const key = `${name}@${Math.max(budget, 0)}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    if (this.building.has(key)) throw new UnsupportedSchemaError(`${name} is recursive with no finite value`);
    this.building.add(key);
    try {
      const arbitrary = this.make(this.definition(name), budget);
      this.cache.set(key, arbitrary);
      return arbitrary;
    } finally {
      this.building.delete(key);
    }
  }

  /** Free (budget left): every branch; else only those with the shortest way to a value. */
  private union(branches: Schema[], budget: number): fc.Arbitrary<unknown> {
    let chosen = branches.filter((branch) => this.cost(branch) < Number.POSITIVE_INFINITY);
    if (budget <= 0) {
      const least = Math.min(...chosen.map((branch) => this.cost(branch)));
      chosen = chosen.filter((branch) => this.cost(branch) === least);
    }
    if (chosen.length === 0) throw new UnsupportedSchemaError("an anyOf none of whose branches has a value");
    return oneOf(chosen.map((branch) => this.make(branch, budget)));
  }

  private object(
    schema: JsonSchema,
    budget: number,
    overrides: SchemaArbitraryOptions["rootProperties"],
  ): fc.Arbitrary<unknown> {
    const free = budget > 0;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const required = new Set((schema.required ?? []) as string[]);
    const record: Record<string, fc.Arbitrary<unknown>> = {};
    const requiredKeys: string[] = [];
    for (const [key, property] of Object.entries(properties)) {
      if (!required.has(key) && !free) continue;
      record[key] = overrides?.[key] ?? this.make(property, budget);
      if (required.has(key)) requiredKeys.push(key);
    }
    for (const key of required) {
      if (key in record) continue;
      record[key] = ANY_JSON;
      requiredKeys.push(key);
    }
    const declared = fc.record(record, { requiredKeys, noNullPrototype: true });
    const extra = schema.additionalProperties;
    if (!free || extra === undefined || typeof extra === "boolean") return declared;
    const names = new Set(Object.keys(properties));
    const keys = fc
      .string({ minLength: 1, maxLength: 8 })
      .filter((key) => !names.has(key) && key !== "__proto__");
    const more = fc.dictionary(keys, this.make(extra as Schema, budget), {
      maxKeys: 4,
      noNullPrototype: true,
    });
    return fc.tuple(declared, more).map(([own, others]) => ({ ...others, ...own }));
  }

  private array(schema: JsonSchema, budget: number): fc.Arbitrary<unknown> {
    const free = budget > 0;
    const prefix = (schema.prefixItems ?? []) as Schema[];
    const items = schema.items as Schema | undefined;
    const min = (schema.minItems as number | undefined) ?? 0;
    const max = (schema.maxItems as number | undefined) ?? Number.POSITIVE_INFINITY;
    const itemAt = (index: number) => {
      const itemSchema = index < prefix.length ? prefix[index] : items;
      return itemSchema === undefined ? ANY_JSON : this.make(itemSchema, budget);
    };
    if (prefix.length === 0 && items !== false) {
      if (!free && min === 0) return fc.constant([]);
      const item = itemAt(0);
      if (!free) return fc.array(item, { minLength: min, maxLength: min });
      const upTo = Math.min(max, min + ITEM_SPAN);
      if (schema.uniqueItems === true) {
        return fc.uniqueArray(item, { minLength: min, maxLength: upTo, selector: (v) => JSON.stringify(v) });
      }
      const arrays = [fc.array(item, { minLength: min, maxLength: upTo })];
      // The longest arrays allowed, where that is a handful: bugs live at bounds.
      if (Number.isFinite(max) && max > upTo && max <= 64) {
        arrays.push(fc.array(item, { minLength: max, maxLength: max }));
      }
      return oneOf(arrays);
    }
    // A tuple: the items at each position follow prefixItems, then items (when not false).
    const longest =
      items === false ? Math.min(max, prefix.length) : Math.min(max, Math.max(prefix.length, min) + 2);
    const lengths: number[] = [];
    for (let n = min; n <= (free ? longest : min); n++) lengths.push(n);
    if (lengths.length === 0) throw new UnsupportedSchemaError(`a tuple that cannot have ${min} items`);
    return oneOf(lengths.map((n) => fc.tuple(...Array.from({ length: n }, (_, i) => itemAt(i)))));
  }

  private definition(name: string): Schema {
    return this.defs[name] as Schema;
  }

  private refCost(name: string): number {
    if (name === "Asset") return 1;
    return 1 + (this.costs.get(name) ?? Number.POSITIVE_INFINITY);
  }

  /** How many `$ref`s deep the shallowest value of `schema` goes. */
  private cost(schema: Schema | undefined): number {
    if (schema === undefined || schema === true) return 0;
    if (schema === false) return Number.POSITIVE_INFINITY;
    if (typeof schema.$ref === "string") {
      const name = refName(schema);
      return name === undefined ? Number.POSITIVE_INFINITY : this.refCost(name);
    }
    if ("const" in schema || schema.enum !== undefined) return 0;
    const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
    if (Array.isArray(union)) return Math.min(...union.map((branch) => this.cost(branch)));
    let cost = 0;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required ?? []) as string[]) cost = Math.max(cost, this.cost(properties[key]));
    const min = (schema.minItems as number | undefined) ?? 0;
    const prefix = (schema.prefixItems ?? []) as Schema[];
    for (let i = 0; i < min; i++) {
      cost = Math.max(cost, this.cost(i < prefix.length ? prefix[i] : (schema.items as Schema | undefined)));
    }
    return cost;
  }

  /** Costs of the definitions, to a fixed point (recursive types reach it in a few rounds). */
  private computeCosts(): void {
    const names = Object.keys(this.defs);
    for (let round = 0; round <= names.length; round++) {
      let changed = false;
      for (const name of names) {
        const cost = this.cost(this.definition(name));
        if (cost < (this.costs.get(name) ?? Number.POSITIVE_INFINITY)) {
          this.costs.set(name, cost);
          changed = true;
        }
      }
      if (!changed) return;
    }
  }
}

function refName(schema: JsonSchema): string | undefined {
  const ref = schema.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/$defs/")) return undefined;
  return decodeURIComponent(ref.slice("#/$defs/".length)).replace(/~1/g, "/").replace(/~0/g, "~");
}

function oneOf(arbitraries: fc.Arbitrary<unknown>[]): fc.Arbitrary<unknown> {
  const [only] = arbitraries;
  if (arbitraries.length === 1 && only) return only;
  return fc.oneof({ withCrossShrink: true }, ...arbitraries);
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function strings(schema: JsonSchema): fc.Arbitrary<string> {
  const min = (schema.minLength as number | undefined) ?? 0;
  const max = schema.maxLength as number | undefined;
  const pattern = schema.pattern as string | undefined;
  const format = schema.format as string | undefined;
  const upTo = max === undefined ? min + CHAR_SPAN : Math.min(max, min + CHAR_SPAN);
  const plain = [
    fc.string({ minLength: min, maxLength: upTo }),
    fc.string({ minLength: min, maxLength: upTo, unit: "binary" }),
  ];
  if (max !== undefined && max > upTo) plain.push(fc.string({ minLength: max, maxLength: max }));
  const formatted = format === undefined ? undefined : formatStrings(format);
  if (pattern === undefined && formatted === undefined) return oneOf(plain) as fc.Arbitrary<string>;
  const regex = pattern === undefined ? undefined : new RegExp(pattern, "u");
  let base = formatted;
  if (base === undefined && regex !== undefined) {
    try {
      base = fc.stringMatching(regex, max === undefined ? {} : { maxLength: max });
    } catch {
      // A pattern fast-check cannot generate from: plain strings, kept when they match.
    }
  }
  const fits = (text: string) => {
    const length = codePoints(text);
    return length >= min && (max === undefined || length <= max) && (regex === undefined || regex.test(text));
  };
  return (base ?? (oneOf(plain) as fc.Arbitrary<string>)).filter(fits);
}

function numbers(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  let low = (schema.minimum as number | undefined) ?? Number.NEGATIVE_INFINITY;
  let high = (schema.maximum as number | undefined) ?? Number.POSITIVE_INFINITY;
  let lowExcluded = false;
  let highExcluded = false;
  const exclusiveMinimum = schema.exclusiveMinimum as number | undefined;
  const exclusiveMaximum = schema.exclusiveMaximum as number | undefined;
  if (exclusiveMinimum !== undefined && exclusiveMinimum >= low) {
    low = exclusiveMinimum;
    lowExcluded = true;
  }
  if (exclusiveMaximum !== undefined && exclusiveMaximum <= high) {
    high = exclusiveMaximum;
    highExcluded = true;
  }
  const intMin = Math.max(lowExcluded ? Math.floor(low) + 1 : Math.ceil(low), -SAFE);
  const intMax = Math.min(highExcluded ? Math.ceil(high) - 1 : Math.floor(high), SAFE);
  const choices: fc.Arbitrary<number>[] = [];
  if (intMin <= intMax) {
    // Everyday values first (what shrinking heads for), then the whole range with its extremes.
    const smallMin = Math.max(intMin, -1000);
    const smallMax = Math.min(intMax, 1000);
    if (smallMin <= smallMax) choices.push(fc.integer({ min: smallMin, max: smallMax }));
    choices.push(fc.integer({ min: intMin, max: intMax }));
  }
  if (!integer && low < high) {
    choices.push(
      fc.double({
        ...(Number.isFinite(low) ? { min: low, minExcluded: lowExcluded } : {}),
        ...(Number.isFinite(high) ? { max: high, maxExcluded: highExcluded } : {}),
        noNaN: true,
        noDefaultInfinity: true,
      }),
    );
  }
  if (choices.length === 0) {
    throw new UnsupportedSchemaError(
      `no ${integer ? "integer" : "number"} lies within ${JSON.stringify(schema)}`,
    );
  }
  return oneOf(choices) as fc.Arbitrary<number>;
}
