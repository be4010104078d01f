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

  it.each(["", ".", "..", "a/b", "a\\b"])("refuses run id %j", (runId) => {
    expect(() => assertRunId(runId)).toThrow(ValidationError);
    expect(() => normalizeOutputRef("x.png", runId)).toThrow(ValidationError);
  });
});
