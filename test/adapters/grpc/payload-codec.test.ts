import { encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { decodePayload, encodeOutput } from "../../../src/adapters/grpc/payload-codec.js";
import { ValidationError } from "../../../src/contract/errors.js";

function validationMessage(bytes: Uint8Array): string {
  try {
    decodePayload(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).errorType).toBe("validation");
    return (error as Error).message;
  }
  throw new Error("expected a ValidationError");
}

describe("payload codec", () => {
  it("round-trips nested objects, arrays, binary, floats, null and unicode", () => {
    const value = {
      name: "Zoë 👋",
      times: 3,
      ratio: 0.25,
      negative: -129,
      flags: [true, false, null],
      nested: { deeper: { list: [1, "two", { three: 3 }], empty: {} }, emptyList: [] },
      image: new Uint8Array([0, 1, 2, 253, 254, 255]),
    };
    expect(decodePayload(encodeOutput(value))).toEqual(value);
  });

  it("round-trips integers up to ±(2^53−1) exactly, as numbers", () => {
    const value = {
      max: Number.MAX_SAFE_INTEGER,
      min: Number.MIN_SAFE_INTEGER,
      u32: 2 ** 32 - 1,
      beyondU32: 2 ** 32,
      i64: -(2 ** 40) - 7,
      list: [2 ** 53 - 2, 1],
    };
    const decoded = decodePayload(encodeOutput(value)) as Record<string, unknown>;
    expect(decoded).toEqual(value);
    expect(typeof decoded.max).toBe("number");
    expect(Number.isInteger(decoded.beyondU32)).toBe(true);
  });

  it("encodes large integers as msgpack integers, not floats", () => {
    const bytes = encodeOutput(2 ** 40);
    expect(bytes[0]).toBe(0xcf); // uint 64
    expect(encodeOutput(-(2 ** 40))[0]).toBe(0xd3); // int 64
  });

  it("reads 64-bit integers from other encoders as numbers when they fit", () => {
    const fromGo = encode({ id: 5n, big: 2n ** 52n, neg: -(2n ** 52n) }, { useBigInt64: true });
    expect(decodePayload(fromGo)).toEqual({ id: 5, big: 2 ** 52, neg: -(2 ** 52) });
  });

  it("refuses integers a number cannot hold, naming where they are", () => {
    const bytes = encode({ outer: { list: [1, 2n ** 53n] } }, { useBigInt64: true });
    expect(validationMessage(bytes)).toBe(
      "input_payload has the integer 9007199254740992 at $.outer.list[1], beyond ±(2^53−1) that the worker can hold exactly: send it as a string",
    );
    expect(validationMessage(encode(-(2n ** 63n), { useBigInt64: true }))).toContain("at $,");
  });

  it("leaves out undefined properties, as JSON does", () => {
    expect(decodePayload(encodeOutput({ a: 1, b: undefined }))).toEqual({ a: 1 });
  });

  it("rejects garbage bytes as a validation error", () => {
    // 0xc1 is the one byte msgpack never uses.
    expect(validationMessage(new Uint8Array([0xc1]))).toMatch(/^input_payload is not valid msgpack: /);
    // A map announcing 2 entries with only one key and no values.
    expect(validationMessage(new Uint8Array([0x82, 0xa1, 0x61]))).toMatch(
      /^input_payload is not valid msgpack: it ends in the middle of a value/,
    );
    expect(validationMessage(new Uint8Array([0xda, 0x00, 0x10, 0x61]))).toMatch(
      /^input_payload is not valid msgpack: it ends in the middle of a value/,
    );
    // A JSON text is not msgpack: "{" decodes as a positive fixint followed by extra bytes.
    expect(validationMessage(new TextEncoder().encode('{"a":1}'))).toMatch(
      /^input_payload is not valid msgpack: Extra /,
    );
  });

  it("rejects an empty payload and a prototype-polluting key", () => {
    expect(validationMessage(new Uint8Array())).toBe(
      "input_payload is not valid msgpack: it is empty (send a msgpack map, e.g. {})",
    );
    // {"__proto__": 1} written by hand.
    const polluting = new Uint8Array([0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0x01]);
    expect(validationMessage(polluting)).toMatch(/__proto__/);
  });

  it("refuses msgpack nested 100,000 deep as validation, naming the depth limit", () => {
    // 100,000 one-element arrays (fixarray 0x91) around a nil.
    const bytes = new Uint8Array(100_001).fill(0x91);
    bytes[100_000] = 0xc0;
    expect(validationMessage(bytes)).toMatch(
      /^input_payload nests arrays and objects deeper than 64 levels \(the limit\), at \$\[0\]\[0\]/,
    );
  });

  it("refuses 4 MB of nils for one array before building it, naming the value limit", () => {
    const bytes = encode({ items: new Array(4_000_000).fill(null) });
    const cpu = process.cpuUsage();
    const message = validationMessage(bytes);
    const { user, system } = process.cpuUsage(cpu);
    console.log(`decoding 4 MB of nils: refused in ${((user + system) / 1000).toFixed(1)} ms of CPU`);
    expect(message).toBe(
      "input_payload holds an array or map of more than 1,000,000 values (the limit for a whole payload): send bulk data as a file (Asset) or as bytes",
    );
  });

  it("refuses more than a million values in all, spread over many arrays", () => {
    const bytes = encode({ rows: Array.from({ length: 1_001 }, () => new Array(1_000).fill(0)) });
    expect(validationMessage(bytes)).toMatch(/^input_payload holds more than 1,000,000 values \(the limit/);
  });

  it("explains outputs msgpack cannot carry", () => {
    expect(() => encodeOutput({ big: 1n })).toThrow(/^the output cannot be encoded as msgpack: /);
  });
});
