import { createHash } from "node:crypto";

/**
 * Compact JSON with sorted keys and every character above `~` written as
 * `\uXXXX`: the form the Python SDK hashes schemas in (Python `json.dumps(sort_keys=True,
 * separators=(",", ":"), ensure_ascii=True)`).
 */
export function canonicalJson(value: unknown): string {
  return asciiEscape(JSON.stringify(sortKeys(value)));
}

/** Hex sha256 of {@link canonicalJson}. */
export function schemaHash(schema: unknown): string {
  return createHash("sha256").update(canonicalJson(schema)).digest("hex");
}

/** Pretty JSON for people (2-space indent, key order kept) with the same ASCII escaping. */
export function prettyJson(value: unknown): string {
  return asciiEscape(JSON.stringify(value, null, 2));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    }
    return sorted;
  }
  return value;
}

function asciiEscape(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
