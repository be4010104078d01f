import type { Ajv } from "../util/ajv.js";

/**
 * `@default`s of properties named like members of `Object.prototype` (`constructor`, `valueOf`,
 * `toString`...). ajv fills a default in only when `data[key] === undefined`, which is never true
 * for those names (the prototype answers), so it validated the inherited function instead and
 * failed every payload that left the property out. This keyword, placed before `properties`,
 * fills them in when the payload has no own property of that name.
 */
const KEYWORD = "x-cozy-own-defaults";

export function addOwnDefaultsKeyword(ajv: Ajv): void {
  ajv.addKeyword({
    keyword: KEYWORD,
    type: "object",
    schemaType: "object",
    modifying: true,
    before: "properties",
    errors: false,
    validate: (defaults: Record<string, unknown>, data: Record<string, unknown>) => {
      for (const key of Object.keys(defaults)) {
        if (!Object.hasOwn(data, key)) data[key] = structuredClone(defaults[key]);
      }
      return true;
    },
  });
}

/**
 * The schema with {@link KEYWORD} next to every `properties` that gives a prototype-named
 * property a default; the same object when there is none (the usual case).
 */
export function withOwnDefaults(schema: unknown): unknown {
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) return schema;
  const source = schema as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  const set = (key: string, value: unknown) => {
    if (value === source[key] && copy === undefined) return;
    copy ??= { ...source };
    copy[key] = value;
  };
  for (const key of MAP_KEYWORDS) {
    const map = source[key];
    if (map === null || typeof map !== "object" || Array.isArray(map)) continue;
    let changed = false;
    const next = Object.fromEntries(
      Object.entries(map).map(([name, sub]) => {
        const rewritten = withOwnDefaults(sub);
        changed ||= rewritten !== sub;
        return [name, rewritten];
      }),
    );
    if (changed) set(key, next);
  }
  for (const key of SUBSCHEMA_KEYWORDS) if (key in source) set(key, withOwnDefaults(source[key]));
  for (const key of LIST_KEYWORDS) {
    const list = source[key];
    if (!Array.isArray(list)) continue;
    const next = list.map(withOwnDefaults);
    if (next.some((sub, index) => sub !== list[index])) set(key, next);
  }
  const defaults = prototypeDefaults(source.properties);
  if (defaults) set(KEYWORD, defaults);
  return copy ?? source;
}

function prototypeDefaults(properties: unknown): Record<string, unknown> | undefined {
  if (properties === null || typeof properties !== "object") return undefined;
  let defaults: Record<string, unknown> | undefined;
  for (const [name, sub] of Object.entries(properties)) {
    if (name === "__proto__" || !(name in Object.prototype)) continue;
    const value = (sub as { default?: unknown } | null)?.default;
    if (value === undefined) continue;
    defaults ??= {};
    defaults[name] = value;
  }
  return defaults;
}

const MAP_KEYWORDS = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
const SUBSCHEMA_KEYWORDS = [
  "items",
  "additionalProperties",
  "unevaluatedProperties",
  "unevaluatedItems",
  "contains",
  "propertyNames",
  "not",
  "if",
  "then",
  "else",
];
const LIST_KEYWORDS = ["prefixItems", "anyOf", "oneOf", "allOf"];
