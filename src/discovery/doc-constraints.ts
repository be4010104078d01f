import { createRequire } from "node:module";
import type { JsonSchema } from "../contract/json-schema.js";
import type { Doc } from "./jsdoc.js";

/** Formats the runtime validates: ajv-formats' full set, read from ajv-formats itself. */
export const KNOWN_FORMATS: readonly string[] = Object.keys(
  (createRequire(import.meta.url)("ajv-formats/dist/formats") as { fullFormats: Record<string, unknown> })
    .fullFormats,
);

type TagKind = "number" | "count" | "pattern" | "format" | "integer" | "default" | "deprecated";

/** The JSDoc tags that become JSON Schema keywords, with the schema type each applies to. */
const TAGS: Record<string, { kind: TagKind; appliesTo?: "number" | "string" | "array" }> = {
  minimum: { kind: "number", appliesTo: "number" },
  maximum: { kind: "number", appliesTo: "number" },
  exclusiveMinimum: { kind: "number", appliesTo: "number" },
  exclusiveMaximum: { kind: "number", appliesTo: "number" },
  minLength: { kind: "count", appliesTo: "string" },
  maxLength: { kind: "count", appliesTo: "string" },
  pattern: { kind: "pattern", appliesTo: "string" },
  format: { kind: "format", appliesTo: "string" },
  minItems: { kind: "count", appliesTo: "array" },
  maxItems: { kind: "count", appliesTo: "array" },
  integer: { kind: "integer", appliesTo: "number" },
  default: { kind: "default" },
  deprecated: { kind: "deprecated" },
};

const TAG_BY_LOWERCASE = new Map(Object.keys(TAGS).map((name) => [name.toLowerCase(), name]));

/**
 * Adds a property's JSDoc description and constraint tags to its schema. Each misuse (a bad
 * value, a tag on the wrong type, a misspelt tag) is reported through `fail`.
 */
export function applyDocTags(schema: JsonSchema, doc: Doc, fail: (message: string) => void): JsonSchema {
  const result: JsonSchema = doc.description ? { ...schema, description: doc.description } : { ...schema };
  const target = constraintTarget(result);
  for (const tag of doc.tags) {
    const rule = TAGS[tag.name];
    if (!rule) {
      const known = TAG_BY_LOWERCASE.get(tag.name.toLowerCase());
      if (known) fail(`has the JSDoc tag @${tag.name}: tags are case-sensitive, write @${known}`);
      continue;
    }
    if (rule.appliesTo && !typeMatches(target, rule.appliesTo)) {
      const type = describeType(target);
      const alternatives = tagsFor(type);
      fail(
        `has @${tag.name}, which applies to ${rule.appliesTo}s, but its type is ${type}: remove the tag${alternatives ? ` (for ${type}s use ${alternatives})` : ""}`,
      );
      continue;
    }
    applyTag(tag.name, rule.kind, tag.text, result, target, fail);
  }
  return result;
}

function applyTag(
  name: string,
  kind: TagKind,
  text: string,
  property: JsonSchema,
  target: JsonSchema,
  fail: (message: string) => void,
): void {
  switch (kind) {
    case "number": {
      const value = Number(text);
      if (text === "" || !Number.isFinite(value)) {
        fail(`has @${name} "${text}": expected a number`);
        return;
      }
      target[name] = value;
      return;
    }
    case "count": {
      const value = Number(text);
      if (!Number.isInteger(value) || value < 0) {
        fail(`has @${name} "${text}": expected a whole number of 0 or more`);
        return;
      }
      target[name] = value;
      return;
    }
    case "pattern":
      try {
        new RegExp(text, "u");
      } catch (error) {
        fail(`has @pattern ${text}, which is not a valid regular expression: ${(error as Error).message}`);
        return;
      }
      target.pattern = text;
      return;
    case "format":
      if (!KNOWN_FORMATS.includes(text)) {
        fail(`has @format "${text}", which is not a known format: use one of ${KNOWN_FORMATS.join(", ")}`);
        return;
      }
      target.format = text;
      return;
    case "integer":
      target.type = "integer";
      return;
    case "default":
      property.default = parseDefault(text);
      return;
    case "deprecated":
      property.deprecated = true;
      return;
  }
}

/**
 * `@default 0.3` and `@default "hi"` are JSON; anything else is taken as a string. Discovery then
 * checks every default against its property's schema, so a wrong one is reported, not shipped.
 */
function parseDefault(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Constraints of an optional-or-null property (`x?: number | null`) go on its non-null branch. */
function constraintTarget(schema: JsonSchema): JsonSchema {
  const anyOf = schema.anyOf;
  if (!Array.isArray(anyOf)) return schema;
  const nonNull = (anyOf as JsonSchema[]).filter((branch) => branch.type !== "null");
  const only = nonNull[0];
  return nonNull.length === 1 && only ? only : schema;
}

function tagsFor(type: string): string | undefined {
  const kind = type === "integer" ? "number" : type;
  const names = Object.entries(TAGS)
    .filter(([, rule]) => rule.appliesTo === kind)
    .map(([name]) => `@${name}`);
  return names.length > 0 ? names.join(", ") : undefined;
}

function typeMatches(schema: JsonSchema, kind: "number" | "string" | "array"): boolean {
  if (kind === "number") return schema.type === "number" || schema.type === "integer";
  return schema.type === kind;
}

function describeType(schema: JsonSchema): string {
  if (typeof schema.type === "string") return schema.type;
  if (typeof schema.$ref === "string") return `the named type ${schema.$ref.replace("#/$defs/", "")}`;
  if (Array.isArray(schema.enum)) return "a union of literals";
  if (schema.anyOf) return "a union";
  return "not a single JSON type";
}
