import { describe, expect, it } from "vitest";
import { taskFromBody } from "../../../src/adapters/http/envelope.js";

describe("the dev runner's envelope", () => {
  it("canonicalizes required model refs as the gRPC worker does", () => {
    const { task } = taskFromBody(
      "detect",
      { payload: { x: 1 }, required_variant_refs: ["org/model-a", "HF:o/r", "hf:hf:o/r@main"] },
      10,
    );
    expect(task.requiredModels).toEqual(["cozy:org/model-a:latest", "hf:o/r", "hf:o/r@main"]);
  });
});
