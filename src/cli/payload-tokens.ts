import { readFile } from "node:fs/promises";
import { UsageError } from "./usage.js";

/**
 * Builds a payload from `key=value` (a string), `key:=<json>` (any JSON value) and `key@path`
 * (the file's text) tokens, on top of a base object from `--payload-json` or `-f`.
 */
export async function payloadFromTokens(tokens: readonly string[], base: unknown = {}): Promise<unknown> {
  if (tokens.length === 0) return base;
  if (base === null || typeof base !== "object" || Array.isArray(base)) {
    throw new UsageError("key=value fields need an object payload; --payload-json/-f gave something else");
  }
  const payload: Record<string, unknown> = { ...base };
  for (const token of tokens) {
    const match = /^([^=:@]+)(:=|=|@)(.*)$/s.exec(token);
    if (!match) {
      throw new UsageError(`cannot read field "${token}": write key=value, key:=<json> or key@<file>`);
    }
    const [, key = "", operator, value = ""] = match;
    if (operator === "=") payload[key] = value;
    else if (operator === ":=") payload[key] = parseJsonField(key, value);
    else payload[key] = await readFieldFile(key, value);
  }
  return payload;
}

function parseJsonField(key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${key}:= needs JSON, got ${text} (${(error as Error).message}); quote strings: ${key}:='"text"'`,
    );
  }
}

async function readFieldFile(key: string, path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new UsageError(`${key}@${path}: cannot read that file`);
  }
}
