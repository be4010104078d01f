import { readFile } from "node:fs/promises";
import { readFieldText } from "./field-value.js";
import type { InputFields } from "./input-fields.js";
import { UsageError } from "./usage.js";

/**
 * Builds a payload from `key=value`, `key:=<json>` (any JSON value) and `key@path` (the file's
 * text) tokens, on top of a base object from `--payload-json` or `-f`. With the endpoint's
 * fields, `key=value` takes the field's type (see {@link readFieldText}); without, it is a string.
 */
export async function payloadFromTokens(
  tokens: readonly string[],
  base: unknown = {},
  fields?: InputFields,
): Promise<unknown> {
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
    if (operator === "=") payload[key] = typedText(key, value, fields);
    else if (operator === ":=") payload[key] = parseJsonField(key, value);
    else payload[key] = await readFieldFile(key, value, fields);
  }
  return payload;
}

function typedText(key: string, text: string, fields: InputFields | undefined): unknown {
  const shape = fields?.shape(key);
  if (shape === undefined) return text;
  const reading = readFieldText(shape, text);
  if (reading.kind === "value") return reading.value;
  if (reading.kind === "as-written") return text;
  const json = shape.types.has("array") || shape.types.has("object");
  throw new UsageError(
    `${key}=${text}: ${key} takes ${reading.takes}${json ? `; write it as JSON: ${key}:=<json>` : ""}`,
  );
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

async function readFieldFile(key: string, path: string, fields: InputFields | undefined): Promise<string> {
  if (fields?.shape(key)?.asset) {
    throw new UsageError(
      `${key}@${path} would send the file's text, but ${key} is an Asset: write ${key}=<ref>, a path inside the folder the file API serves (run --local --files <dir>) or an http(s) URL`,
    );
  }
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new UsageError(`${key}@${path}: cannot read that file`);
  }
}
