import type { JsonSchema } from "../contract/json-schema.js";
import { canonicalJson } from "../util/canonical-json.js";

/**
 * How a change moves the set of values a schema accepts: `narrower` accepts less (it breaks the
 * senders of an input), `wider` accepts more (it breaks the readers of an output), `changed` may
 * do either (it breaks both), `neutral` neither.
 */
export type Direction = "narrower" | "wider" | "changed" | "neutral";

export type SchemaChangeKind =
  | "field-added"
  | "field-removed"
  | "field-required"
  | "field-optional"
  | "type-narrowed"
  | "type-widened"
  | "type-changed"
  | "enum-reduced"
  | "enum-extended"
  | "description-changed"
  | "default-changed";

export interface SchemaChange {
  kind: SchemaChangeKind;
  /** The field: `options.limit`, `tags[]` (array items), `start[0]` (a tuple element), `scores.*` (a record's values); "" for the whole schema. */
  path: string;
  direction: Direction;
  /** What changed, for people: `number → integer`, `length [1, 100] → [1, 40]`, `enum lost "xl"`. */
  detail: string;
}

/**
 * The changes from one JSON Schema (draft 2020-12, as discovery writes it) to another, each with
 * the direction it moves what the schema accepts. `$ref`s are followed into each side's own
 * `$defs`, so a type renamed in `$defs` compares by its contents.
 */
export function diffSchemas(oldSchema: JsonSchema, newSchema: JsonSchema): SchemaChange[] {
  const comparison = new SchemaComparison(oldSchema, newSchema);
  comparison.compare(oldSchema, newSchema, "");
  return comparison.changes;
}

/** Keywords that do not change what a schema accepts, or that are compared on their own below. */
const KNOWN_KEYWORDS = new Set([
  ...["$schema", "$id", "$defs", "definitions", "$comment", "$ref", "title", "examples", "deprecated"],
  ...["readOnly", "writeOnly", "description", "default", "type", "enum", "const", "anyOf", "oneOf"],
  ...["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength"],
  ...["pattern", "format", "items", "prefixItems", "minItems", "maxItems", "uniqueItems", "properties"],
  ...["required", "additionalProperties", "minProperties", "maxProperties"],
]);

/** The keyword pairs that bound a count: a string's length, an array's items, an object's properties. */
const COUNTS = [
  ["length", "minLength", "maxLength"],
  ["items", "minItems", "maxItems"],
  ["properties", "minProperties", "maxProperties"],
] as const;

/** One alternative a schema accepts: a JSON type (`any` for a schema without one) and its keywords. */
interface Branch {
  type: string;
  /** The `$defs` title when there is one: how members of a union of objects are told apart. */
  label: string;
  schema: JsonSchema;
}

/** What a schema accepts, split into type alternatives and literal values (`enum`, `const`). */
interface Alternatives {
  types: Branch[];
  values: unknown[];
}

type Bound = { value: number; exclusive: boolean } | undefined;

class SchemaComparison {
  readonly changes: SchemaChange[] = [];
  private readonly seen = new Set<string>();
  /** The `$ref` pairs being compared further up: a recursive type stops where it repeats. */
  private readonly active = new Set<string>();

  constructor(
    private readonly oldRoot: JsonSchema,
    private readonly newRoot: JsonSchema,
  ) {}

  compare(oldNode: unknown, newNode: unknown, path: string): void {
    const before = resolve(oldNode, this.oldRoot);
    const after = resolve(newNode, this.newRoot);
    this.annotations(before, after, path);
    const refs = refOf(oldNode) || refOf(newNode) ? `${refOf(oldNode)} → ${refOf(newNode)}` : undefined;
    if (refs === undefined) {
      this.alternatives(alternativesOf(before, this.oldRoot), alternativesOf(after, this.newRoot), path);
    } else if (!this.active.has(refs)) {
      this.active.add(refs);
      this.alternatives(alternativesOf(before, this.oldRoot), alternativesOf(after, this.newRoot), path);
      this.active.delete(refs);
    }
  }

  private add(kind: SchemaChangeKind, path: string, direction: Direction, detail: string): void {
    const key = `${kind} ${path} ${detail}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.changes.push({ kind, path, direction, detail });
  }

  private annotations(before: JsonSchema | false, after: JsonSchema | false, path: string): void {
    if (before === false || after === false) return;
    if (before.description !== after.description)
      this.add("description-changed", path, "neutral", "description changed");
    if (canonicalJson(before.default ?? null) !== canonicalJson(after.default ?? null))
      this.add(
        "default-changed",
        path,
        "neutral",
        `default ${show(before.default)} → ${show(after.default)}`,
      );
  }

  private alternatives(before: Alternatives, after: Alternatives, path: string): void {
    const lost = before.values.filter((value) => !accepts(after, value));
    const gained = after.values.filter((value) => !accepts(before, value));
    if (lost.length > 0) this.add("enum-reduced", path, "narrower", `enum lost ${lost.map(show).join(", ")}`);
    if (gained.length > 0)
      this.add("enum-extended", path, "wider", `enum gained ${gained.map(show).join(", ")}`);

    const lostTypes: string[] = [];
    const gainedTypes: string[] = [];
    const oldTypes = unique(before.types.map((branch) => branch.type));
    const newTypes = unique(after.types.map((branch) => branch.type));
    for (const type of oldTypes) {
      const olds = before.types.filter((branch) => branch.type === type);
      const same = after.types.filter((branch) => branch.type === type);
      const wider = after.types.find((branch) => covers(branch.type, type));
      const narrower = after.types.filter((branch) => covers(type, branch.type));
      if (same.length > 0) this.pair(olds, same, path);
      else if (wider) {
        this.add("type-widened", path, "wider", `${typeName(type)} → ${typeName(wider.type)}`);
        for (const branch of olds) this.branch(branch.schema, wider.schema, path);
      } else if (narrower.length > 0) {
        const names = unique(narrower.map((branch) => typeName(branch.type))).join(" | ");
        this.add("type-narrowed", path, "narrower", `${typeName(type)} → ${names}`);
        for (const branch of narrower) this.branch((olds[0] as Branch).schema, branch.schema, path);
      } else if (after.values.some((value) => typeAccepts(type, value)))
        this.add("type-narrowed", path, "narrower", `${typeName(type)} → enum`);
      else lostTypes.push(type);
    }
    for (const type of newTypes) {
      const handled = (branch: Branch) =>
        branch.type === type || covers(branch.type, type) || covers(type, branch.type);
      if (before.types.some(handled)) continue;
      if (before.values.some((value) => typeAccepts(type, value)))
        this.add("type-widened", path, "wider", `enum → ${typeName(type)}`);
      else gainedTypes.push(type);
    }
    const lostText = lostTypes.map(typeName).join(" | ");
    const gainedText = gainedTypes.map(typeName).join(" | ");
    if (lostTypes.length > 0 && gainedTypes.length > 0)
      this.add("type-changed", path, "changed", `${lostText} → ${gainedText}`);
    else if (lostTypes.length > 0)
      this.add("type-narrowed", path, "narrower", `no longer accepts ${lostText}`);
    else if (gainedTypes.length > 0)
      this.add("type-widened", path, "wider", `now also accepts ${gainedText}`);
  }

  /** Branches of one type on both sides: by `$defs` title, then in order; the rest lost or gained. */
  private pair(olds: Branch[], news: Branch[], path: string): void {
    const [onlyOld] = olds;
    const [onlyNew] = news;
    if (olds.length === 1 && news.length === 1 && onlyOld && onlyNew) {
      this.branch(onlyOld.schema, onlyNew.schema, path);
      return;
    }
    const rest = [...news];
    const unmatched: Branch[] = [];
    for (const branch of olds) {
      const index = rest.findIndex((candidate) => candidate.label === branch.label);
      if (index < 0) unmatched.push(branch);
      else this.branch(branch.schema, (rest.splice(index, 1)[0] as Branch).schema, path);
    }
    while (unmatched.length > 0 && rest.length > 0)
      this.branch((unmatched.shift() as Branch).schema, (rest.shift() as Branch).schema, path);
    for (const branch of unmatched)
      this.add("type-narrowed", path, "narrower", `no longer accepts ${branch.label}`);
    for (const branch of rest) this.add("type-widened", path, "wider", `now also accepts ${branch.label}`);
  }

  /** Two alternatives of the same (or a covering) type: their constraints and their parts. */
  private branch(before: JsonSchema, after: JsonSchema, path: string): void {
    this.range(path, "value", [lower(before), upper(before)], [lower(after), upper(after)]);
    for (const [what, min, max] of COUNTS)
      this.range(path, what, counts(before, min, max), counts(after, min, max));
    this.multipleOf(path, numberOr(before.multipleOf), numberOr(after.multipleOf));
    for (const keyword of ["pattern", "format"])
      this.restriction(path, keyword, before[keyword], after[keyword]);
    if ((before.uniqueItems === true) !== (after.uniqueItems === true)) {
      const now = after.uniqueItems === true;
      this.add(
        now ? "type-narrowed" : "type-widened",
        path,
        now ? "narrower" : "wider",
        now ? "items must now be unique" : "items no longer need to be unique",
      );
    }
    this.arrays(before, after, path);
    this.objects(before, after, path);
    for (const keyword of unique([...Object.keys(before), ...Object.keys(after)]).sort()) {
      if (
        KNOWN_KEYWORDS.has(keyword) ||
        canonicalJson(before[keyword] ?? null) === canonicalJson(after[keyword] ?? null)
      )
        continue;
      this.add(
        "type-changed",
        path,
        "changed",
        `${keyword} changed (gen-worker cannot tell whether it accepts more or less)`,
      );
    }
  }

  private range(path: string, what: string, before: [Bound, Bound], after: [Bound, Bound]): void {
    const low = tighter(before[0], after[0], 1);
    const high = tighter(before[1], after[1], -1);
    if (low === 0 && high === 0) return;
    const detail = `${what} ${showRange(before)} → ${showRange(after)}`;
    if (low >= 0 && high >= 0) this.add("type-narrowed", path, "narrower", detail);
    else if (low <= 0 && high <= 0) this.add("type-widened", path, "wider", detail);
    else this.add("type-changed", path, "changed", detail);
  }

  private multipleOf(path: string, before: number | undefined, after: number | undefined): void {
    if (before === after) return;
    const detail = keywordChange("multipleOf", before, after);
    if (after === undefined || (before !== undefined && isMultiple(before, after)))
      this.add("type-widened", path, "wider", detail);
    else if (before === undefined || isMultiple(after, before))
      this.add("type-narrowed", path, "narrower", detail);
    else this.add("type-changed", path, "changed", detail);
  }

  /** A keyword that accepts less when added, more when removed, and either when changed. */
  private restriction(path: string, keyword: string, before: unknown, after: unknown): void {
    if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) return;
    const detail = keywordChange(keyword, before, after);
    if (before === undefined) this.add("type-narrowed", path, "narrower", detail);
    else if (after === undefined) this.add("type-widened", path, "wider", detail);
    else this.add("type-changed", path, "changed", detail);
  }

  private arrays(before: JsonSchema, after: JsonSchema, path: string): void {
    const oldPrefix = Array.isArray(before.prefixItems) ? before.prefixItems : [];
    const newPrefix = Array.isArray(after.prefixItems) ? after.prefixItems : [];
    for (let index = 0; index < Math.max(oldPrefix.length, newPrefix.length); index++) {
      this.compare(
        oldPrefix[index] ?? before.items ?? true,
        newPrefix[index] ?? after.items ?? true,
        `${path}[${index}]`,
      );
    }
    if (before.items !== undefined || after.items !== undefined)
      this.compare(before.items ?? true, after.items ?? true, `${path}[]`);
  }

  private objects(before: JsonSchema, after: JsonSchema, path: string): void {
    const oldProperties = objectOr(before.properties);
    const newProperties = objectOr(after.properties);
    const oldRequired = new Set(stringsOf(before.required));
    const newRequired = new Set(stringsOf(after.required));
    const names = unique([
      ...Object.keys(oldProperties),
      ...oldRequired,
      ...Object.keys(newProperties),
      ...newRequired,
    ]);
    for (const name of names) {
      const field = path === "" ? name : `${path}.${name}`;
      const inOld = name in oldProperties || oldRequired.has(name);
      const inNew = name in newProperties || newRequired.has(name);
      if (!inNew) {
        // Values of a removed field are ignored, unless the object now refuses unknown fields.
        this.add(
          "field-removed",
          field,
          after.additionalProperties === false ? "changed" : "wider",
          "removed",
        );
      } else if (!inOld) {
        const required = newRequired.has(name);
        this.add(
          "field-added",
          field,
          required ? "narrower" : "neutral",
          `added, ${required ? "required" : "optional"}`,
        );
      } else {
        if (!oldRequired.has(name) && newRequired.has(name))
          this.add("field-required", field, "narrower", "now required");
        if (oldRequired.has(name) && !newRequired.has(name))
          this.add("field-optional", field, "wider", "now optional");
        this.compare(oldProperties[name] ?? true, newProperties[name] ?? true, field);
      }
    }
    if (before.additionalProperties !== undefined || after.additionalProperties !== undefined) {
      const other = path === "" ? "*" : `${path}.*`;
      this.compare(before.additionalProperties ?? true, after.additionalProperties ?? true, other);
    }
  }
}

/** `false` accepts nothing; `true` is `{}`; a `#/$defs/...` ref is replaced by its target, its sibling keywords kept. */
function resolve(node: unknown, root: JsonSchema): JsonSchema | false {
  if (node === false) return false;
  if (node === null || typeof node !== "object" || Array.isArray(node)) return {};
  let schema = node as JsonSchema;
  const followed = new Set<string>();
  while (typeof schema.$ref === "string" && !followed.has(schema.$ref)) {
    followed.add(schema.$ref);
    const target = lookup(root, schema.$ref);
    if (target === undefined) break;
    if (target === false) return false;
    const { $ref: _ref, ...siblings } = schema;
    schema = { ...(target === true ? {} : target), ...siblings };
  }
  return schema;
}

/** The target of a local ref (`#`, `#/$defs/Name`, `#/definitions/Name`); undefined for any other. */
function lookup(root: JsonSchema, ref: string): JsonSchema | boolean | undefined {
  if (ref === "#") return root;
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!match) return undefined;
  const name = (match[2] as string).replaceAll("~1", "/").replaceAll("~0", "~");
  const target = objectOr(root[match[1] as string])[name];
  return typeof target === "boolean" || (target !== null && typeof target === "object")
    ? (target as JsonSchema | boolean)
    : undefined;
}

function refOf(node: unknown): string {
  const ref = (node as JsonSchema | null)?.$ref;
  return typeof ref === "string" ? ref : "";
}

function alternativesOf(schema: JsonSchema | false, root: JsonSchema): Alternatives {
  const result: Alternatives = { types: [], values: [] };
  const add = (node: JsonSchema | false): void => {
    if (node === false) return;
    const members = node.anyOf ?? node.oneOf;
    if (Array.isArray(members)) for (const member of members) add(resolve(member, root));
    else if (Array.isArray(node.enum)) result.values.push(...node.enum);
    else if ("const" in node) result.values.push(node.const);
    else {
      const types = Array.isArray(node.type)
        ? stringsOf(node.type)
        : [typeof node.type === "string" ? node.type : "any"];
      const label = typeof node.title === "string" ? node.title : undefined;
      for (const type of types) result.types.push({ type, label: label ?? typeName(type), schema: node });
    }
  };
  add(schema);
  return result;
}

/** Whether every value of type `narrow` is also one of type `wide`. */
function covers(wide: string, narrow: string): boolean {
  return wide !== narrow && (wide === "any" || (wide === "number" && narrow === "integer"));
}

function typeAccepts(type: string, value: unknown): boolean {
  switch (type) {
    case "any":
      return true;
    case "null":
      return value === null;
    case "integer":
      return Number.isInteger(value);
    case "array":
      return Array.isArray(value);
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    default:
      return typeof value === type;
  }
}

function accepts(alternatives: Alternatives, value: unknown): boolean {
  const json = canonicalJson(value);
  return (
    alternatives.values.some((candidate) => canonicalJson(candidate) === json) ||
    alternatives.types.some((branch) => typeAccepts(branch.type, value))
  );
}

function lower(schema: JsonSchema): Bound {
  return tightest(schema.minimum, schema.exclusiveMinimum, 1);
}

function upper(schema: JsonSchema): Bound {
  return tightest(schema.maximum, schema.exclusiveMaximum, -1);
}

function tightest(inclusive: unknown, exclusive: unknown, sign: 1 | -1): Bound {
  const a: Bound = typeof inclusive === "number" ? { value: inclusive, exclusive: false } : undefined;
  const b: Bound = typeof exclusive === "number" ? { value: exclusive, exclusive: true } : undefined;
  return tighter(a, b, sign) > 0 ? b : a;
}

function counts(schema: JsonSchema, min: string, max: string): [Bound, Bound] {
  const low = numberOr(schema[min]) ?? 0;
  const high = numberOr(schema[max]);
  return [
    { value: low, exclusive: false },
    high === undefined ? undefined : { value: high, exclusive: false },
  ];
}

/** 1 when `after` is a tighter bound than `before`, -1 when looser, 0 when the same; `sign` 1 for lower bounds, -1 for upper. */
function tighter(before: Bound, after: Bound, sign: 1 | -1): number {
  if (before === undefined || after === undefined)
    return before === after ? 0 : before === undefined ? 1 : -1;
  if (before.value !== after.value) return (after.value - before.value) * sign > 0 ? 1 : -1;
  if (before.exclusive === after.exclusive) return 0;
  return after.exclusive ? 1 : -1;
}

function showRange([low, high]: [Bound, Bound]): string {
  const from = low ? `${low.exclusive ? "(" : "["}${low.value}` : "(-∞";
  const to = high ? `${high.value}${high.exclusive ? ")" : "]"}` : "∞)";
  return `${from}, ${to}`;
}

function isMultiple(value: number, of: number): boolean {
  const ratio = value / of;
  return Math.abs(ratio - Math.round(ratio)) < 1e-9;
}

/** `pattern "^a" added`, `format "email" removed`, `multipleOf 0.5 → 1`. */
function keywordChange(keyword: string, before: unknown, after: unknown): string {
  if (before === undefined) return `${keyword} ${show(after)} added`;
  if (after === undefined) return `${keyword} ${show(before)} removed`;
  return `${keyword} ${show(before)} → ${show(after)}`;
}

function typeName(type: string): string {
  return type === "any" ? "any value" : type;
}

function show(value: unknown): string {
  return value === undefined ? "none" : JSON.stringify(value);
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function numberOr(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}

function objectOr(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}
