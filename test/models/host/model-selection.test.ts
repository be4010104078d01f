/**
 * How an injection resolves to a model where gen-worker departs from the Python SDK (gen-worker
 * 0.2.1) on purpose (docs/differences.md).
 */
import { describe, expect, it } from "vitest";
import { FatalError, ValidationError } from "../../../src/contract/errors.js";
import type { InjectionEntry } from "../../../src/contract/manifest.js";
import type { ModelSpec } from "../../../src/contract/model-spec.js";
import { resolveInjection } from "../../../src/models/host/model-selection.js";

const fixed = (key: string): InjectionEntry => ({
  param: "m",
  type: "gen-worker.Model",
  model_ref: { source: "fixed", key },
});
const byPayload = (field: string): InjectionEntry => ({
  param: "m",
  type: "gen-worker.PayloadModel",
  model_ref: { source: "payload", key: field },
});
const keyspace: Record<string, ModelSpec> = { det: { ref: "hf:acme/det", dtypes: ["fp32"] } };

describe("resolveInjection", () => {
  it("applies no allowlist when supported_repo_refs is empty (the Python SDK refused every model)", () => {
    const release = { refByKey: {}, allowed: [] };
    expect(resolveInjection(fixed("det"), "detect", keyspace, {}, release).modelId).toBe("hf:acme/det");
    expect(() =>
      resolveInjection(fixed("det"), "detect", keyspace, {}, { refByKey: {}, allowed: ["hf:acme/other"] }),
    ).toThrow(ValidationError);
  });

  it("refuses a fixed key missing from the keyspace as fatal (the Python SDK used the key as a ref)", () => {
    const call = () => resolveInjection(fixed("hf:acme/raw"), "detect", keyspace, {}, undefined);
    expect(call).toThrow(FatalError);
    expect(call).toThrow(
      "detect injects model key 'hf:acme/raw', which its keyspace does not define (keys: det)",
    );
  });

  it("refuses payload selection without any key as fatal (the Python SDK said validation)", () => {
    const call = () => resolveInjection(byPayload("model"), "pick", {}, { model: "det" }, undefined);
    expect(call).toThrow(FatalError);
    expect(call).toThrow("pick selects a model by payload field 'model', but no model keys are configured");
  });
});
