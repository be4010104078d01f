import { describe, expect, it } from "vitest";
import { readFieldText } from "../../src/cli/field-value.js";
import { InputFields } from "../../src/cli/input-fields.js";
import { ASSET_DEF, DRAFT } from "../runtime/manifest-fixture.js";

function fields(properties: Record<string, unknown>, extra: Record<string, unknown> = {}): InputFields {
  return new InputFields({
    $schema: DRAFT,
    $ref: "#/$defs/In",
    $defs: { In: { type: "object", properties, ...extra }, Asset: ASSET_DEF },
  });
}

function read(schema: unknown, text: string) {
  const shape = fields({ x: schema }).shape("x");
  if (!shape) throw new Error("no shape");
  return readFieldText(shape, text);
}

describe("InputFields", () => {
  it("names the declared field an unknown one most likely misspells, and no far one", () => {
    const input = fields({ times: {}, text: {}, label: {}, threshold: {}, id: {} });
    expect(input.nearest("tims")).toBe("times");
    expect(input.nearest("lable")).toBe("label");
    expect(input.nearest("Threshold")).toBe("threshold");
    expect(input.nearest("ix")).toBe("id");
    expect(input.nearest("ab")).toBeUndefined();
    expect(input.nearest("colour")).toBeUndefined();
  });

  it("has no unknown fields when the payload is a map or declares nothing", () => {
    expect(fields({ a: {} }).isUnknown("b")).toBe(true);
    expect(fields({ a: {} }, { additionalProperties: { type: "integer" } }).isUnknown("b")).toBe(false);
    expect(fields({}).isUnknown("b")).toBe(false);
  });

  it("types a map's values by additionalProperties", () => {
    const shape = fields({}, { additionalProperties: { type: "integer" } }).shape("any");
    expect(shape && readFieldText(shape, "7")).toEqual({ kind: "value", value: 7 });
  });
});

describe("readFieldText", () => {
  it("reads a type array and enum values, and refuses text no type reads", () => {
    expect(read({ type: ["integer", "null"] }, "-4")).toEqual({ kind: "value", value: -4 });
    expect(read({ type: ["integer", "null"] }, "null")).toEqual({ kind: "value", value: null });
    expect(read({ type: "integer" }, "1.5")).toEqual({ kind: "no-fit", takes: "an integer" });
    expect(read({ type: "number" }, "1e3")).toEqual({ kind: "value", value: 1000 });
    expect(read({ enum: [1, 2, "auto"] }, "2")).toEqual({ kind: "value", value: 2 });
    expect(read({ enum: [1, 2, "auto"] }, "auto")).toEqual({ kind: "value", value: "auto" });
    expect(read({ enum: ["a", "b"] }, "c")).toEqual({ kind: "no-fit", takes: 'one of "a", "b"' });
  });

  it("keeps text that several types read, or that any JSON may be, as written", () => {
    expect(read({ anyOf: [{ type: "string" }, { type: "boolean" }] }, "true")).toEqual({
      kind: "as-written",
    });
    expect(read({}, "3")).toEqual({ kind: "as-written" });
  });

  it("makes an Asset's text its ref, and null null where the field takes it", () => {
    const optional = { anyOf: [{ $ref: "#/$defs/Asset" }, { type: "null" }] };
    expect(read({ $ref: "#/$defs/Asset" }, "a.png")).toEqual({ kind: "value", value: { ref: "a.png" } });
    expect(read(optional, "https://example.com/a.png")).toEqual({
      kind: "value",
      value: { ref: "https://example.com/a.png" },
    });
    expect(read(optional, "null")).toEqual({ kind: "value", value: null });
  });
});
