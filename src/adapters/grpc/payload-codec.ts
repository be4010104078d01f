/**
 * msgpack payloads on the wire: `TaskExecutionRequest.input_payload` in,
 * `TaskExecutionResult.output_payload` out.
 *
 * Decision: bytes that are not msgpack are the client's fault, so they fail the run as
 * `validation` (safe message "invalid input"), like any other bad input. The Python SDK reported
 * them as `internal` because its decoder's error class was not a `ValueError`;
 * we do not copy that.
 */
import { DecodeError, decode, ExtData, encode } from "@msgpack/msgpack";
import { ValidationError } from "../../contract/errors.js";
import { checkPayloadShape, MAX_PAYLOAD_VALUES } from "../../runtime/payload-shape.js";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/**
 * Decodes an input payload. Maps become plain objects, `bin` becomes `Uint8Array`, the timestamp
 * extension becomes `Date`. 64-bit integers within ±(2^53−1) become numbers; larger ones are refused
 * rather than silently rounded. Throws {@link ValidationError} on anything that is not exactly one
 * msgpack value, and on a payload beyond the limits of `checkPayloadShape` (nesting depth, number
 * of values), which are checked before the payload is walked.
 */
export function decodePayload(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) {
    throw new ValidationError(
      "input_payload is not valid msgpack: it is empty (send a msgpack map, e.g. {})",
    );
  }
  let value: unknown;
  try {
    // One array or map longer than the payload's value limit is refused before it is allocated.
    value = decode(bytes, {
      useBigInt64: true,
      maxArrayLength: MAX_PAYLOAD_VALUES,
      maxMapLength: MAX_PAYLOAD_VALUES,
    });
  } catch (error) {
    const message =
      error instanceof RangeError || error instanceof DecodeError ? error.message : String(error);
    if (message.startsWith("Max length exceeded")) {
      throw new ValidationError(
        `input_payload holds an array or map of more than ${MAX_PAYLOAD_VALUES.toLocaleString("en-US")} values (the limit for a whole payload): send bulk data as a file (Asset) or as bytes`,
        { cause: error },
      );
    }
    // DataView's own bounds error is what a truncated value often produces; say so plainly.
    const reason = /outside the bounds|^Insufficient data/.test(message)
      ? `it ends in the middle of a value (${message})`
      : message;
    throw new ValidationError(`input_payload is not valid msgpack: ${reason}`, { cause: error });
  }
  checkPayloadShape(value, "input_payload");
  return narrowIntegers(value, "$");
}

/**
 * Encodes a single output. Properties that are `undefined` are left out (as JSON would); integers
 * beyond 32 bits stay integers (uint64/int64). Throws a plain Error (an `internal` failure: the
 * handler returned something msgpack cannot carry, such as a function or a bigint).
 */
export function encodeOutput(value: unknown): Uint8Array {
  try {
    return encode(value, { ignoreUndefined: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`the output cannot be encoded as msgpack: ${reason}`, { cause: error });
  }
}

/** Replaces the bigints of 64-bit integers by numbers, in place; refuses those a number cannot hold. */
function narrowIntegers(value: unknown, path: string): unknown {
  if (typeof value === "bigint") return safeNumber(value, path);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      if (typeof item === "bigint") value[index] = safeNumber(item, `${path}[${index}]`);
      else if (item !== null && typeof item === "object") narrowIntegers(item, `${path}[${index}]`);
    }
    return value;
  }
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof ExtData) return value;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (typeof item === "bigint") record[key] = safeNumber(item, `${path}.${key}`);
    else if (item !== null && typeof item === "object") narrowIntegers(item, `${path}.${key}`);
  }
  return value;
}

function safeNumber(value: bigint, path: string): number {
  if (value > MAX_SAFE || value < MIN_SAFE) {
    throw new ValidationError(
      `input_payload has the integer ${value} at ${path}, beyond ±(2^53−1) that the worker can hold exactly: send it as a string`,
    );
  }
  return Number(value);
}
