import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/contract/errors.js";
import { assertRunId, normalizeOutputRef } from "../../../src/runtime/files/output-ref.js";

describe("normalizeOutputRef", () => {
  it.each([
    ["image.png", "runs/r1/outputs/image.png"],
    ["  sub/dir/image.png  ", "runs/r1/outputs/sub/dir/image.png"],
    ["runs/r1/outputs/a.png", "runs/r1/outputs/a.png"],
    ["/runs/r1/outputs/a.png", "runs/r1/outputs/a.png"],
    ["runs/r1/outputs/deep/er/a b.png", "runs/r1/outputs/deep/er/a b.png"],
    ["outputs/a.png", "runs/r1/outputs/outputs/a.png"],
    ["a..b.png", "runs/r1/outputs/a..b.png"],
  ])("%j → %j", (ref, expected) => {
    expect(normalizeOutputRef(ref, "r1")).toBe(expected);
  });

  it.each([
    ["../x", "ref must not contain '..'"],
    ["a/../../x", "ref must not contain '..'"],
    ["runs/r1/outputs/../../r2/outputs/x", "ref must not contain '..'"],
    ["runs/other-run/outputs/x", "ref must start with 'runs/r1/outputs/'"],
    ["runs/r1/inputs/x", "ref must start with 'runs/r1/outputs/'"],
    ["runs/r1/outputs", "ref must start with 'runs/r1/outputs/'"],
    ["runs/r10/outputs/x", "ref must start with 'runs/r1/outputs/'"],
    ["/etc/passwd", "ref must start with 'runs/r1/outputs/' or be relative to it"],
    ["//runs/r1/outputs/x", "ref must start with 'runs/r1/outputs/' or be relative to it"],
    ["runs/r1/outputs/", "ref must not contain empty segments or end with '/'"],
    ["a//b", "ref must not contain empty segments or end with '/'"],
    ["./a", "ref must not contain '.' segments"],
    ["a\\..\\b", "ref must not contain '\\'"],
    ["a\0b", "ref must not contain NUL"],
    ["", "ref must not be empty"],
    ["  / ", "ref must not be empty"],
  ])("refuses %j (%s)", (ref, rule) => {
    let error: unknown;
    try {
      normalizeOutputRef(ref, "r1");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toBe(`invalid output ref ${JSON.stringify(ref)}: ${rule}`);
  });

  it("refuses a segment over 255 bytes, naming the limit, and accepts 255", () => {
    const long = "a".repeat(256);
    expect(() => normalizeOutputRef(`dir/${long}`, "r1")).toThrow(
      `invalid output ref "dir/${"a".repeat(56)}…": the name "${"a".repeat(60)}…" is 256 bytes; each folder or file name may have at most 255 bytes (UTF-8): use a shorter name`,
    );
    expect(() => normalizeOutputRef(`${"ü".repeat(128)}/x`, "r1")).toThrow(/is 256 bytes/);
    expect(normalizeOutputRef(`${"a".repeat(255)}/x`, "r1")).toBe(`runs/r1/outputs/${"a".repeat(255)}/x`);
  });

  it("refuses a run id over 200 bytes, and accepts 200", () => {
    expect(() => assertRunId("x".repeat(201))).toThrow(/is 201 bytes long; at most 200 bytes \(UTF-8\)/);
    expect(() => assertRunId("é".repeat(101))).toThrow(/is 202 bytes long/);
    expect(() => assertRunId("x".repeat(200))).not.toThrow();
  });

  it.each(["", ".", "..", "a/b", "a\\b"])("refuses run id %j", (runId) => {
    expect(() => assertRunId(runId)).toThrow(ValidationError);
    expect(() => normalizeOutputRef("x.png", runId)).toThrow(ValidationError);
  });
});
