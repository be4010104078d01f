import type { FieldShape } from "./input-fields.js";

/** How the text of `key=text` reads for a field. */
export type FieldReading =
  /** One reading fits (or several that agree): send this value. */
  | { kind: "value"; value: unknown }
  /** Several readings fit, or the field takes any JSON: send the text as written. */
  | { kind: "as-written" }
  /** The field takes no string, and the text reads as none of the types it takes. */
  | { kind: "no-fit"; takes: string };

const INTEGER = /^-?(0|[1-9]\d*)$/;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * Reads `key=text` by the field's type: a number, boolean or null where the field takes that and
 * no string could be meant; an Asset field's text is the file's ref.
 */
export function readFieldText(shape: FieldShape, text: string): FieldReading {
  if (shape.anything) return { kind: "as-written" };
  if (shape.asset) {
    return { kind: "value", value: text === "null" && shape.types.has("null") ? null : { ref: text } };
  }
  const readings = new Map<string, unknown>();
  const add = (value: unknown) => readings.set(JSON.stringify(value), value);
  if (shape.strings === "any" || shape.strings.has(text)) add(text);
  if (shape.types.has("integer") && INTEGER.test(text) && Number.isSafeInteger(Number(text)))
    add(Number(text));
  if (shape.types.has("number") && NUMBER.test(text) && Number.isFinite(Number(text))) add(Number(text));
  if (shape.types.has("boolean") && (text === "true" || text === "false")) add(text === "true");
  if (shape.types.has("null") && text === "null") add(null);
  if (readings.size === 0) return { kind: "no-fit", takes: describeShape(shape) };
  if (readings.size > 1) return { kind: "as-written" };
  return { kind: "value", value: [...readings.values()][0] };
}

/** What a field takes, in words: `an integer or null`, `one of "plain", "loud"`. */
export function describeShape(shape: FieldShape): string {
  const words: string[] = [];
  if (shape.asset) words.push('an Asset {"ref": "<file or URL>"}');
  if (shape.strings === "any") words.push("a string");
  else if (shape.strings.size > 0)
    words.push(`one of ${[...shape.strings].map((value) => JSON.stringify(value)).join(", ")}`);
  const names: Record<string, string> = {
    integer: "an integer",
    number: "a number",
    boolean: "true or false",
    null: "null",
    array: "an array",
    object: "an object",
  };
  for (const type of shape.types) words.push(names[type] ?? type);
  return words.join(" or ");
}
