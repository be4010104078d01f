import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalizeModelRef,
  formatModelRef,
  type ModelRef,
  ModelRefError,
  parseModelRef,
} from "../../src/contract/model-ref.js";

describe("parseModelRef", () => {
  it.each<[string, ModelRef]>([
    ["hf:o/r", { scheme: "hf", repo: "o/r" }],
    ["HF:o/r", { scheme: "hf", repo: "o/r" }],
    ["hf:hf:o/r", { scheme: "hf", repo: "o/r" }],
    ["hf:HF:hf:o/r", { scheme: "hf", repo: "o/r" }],
    ["hf:o/r@main", { scheme: "hf", repo: "o/r", revision: "main" }],
    ["hf:o/r@", { scheme: "hf", repo: "o/r" }],
    ["hf:o/r/extra", { scheme: "hf", repo: "o/r/extra" }],
    ["  hf:o/r@v2  ", { scheme: "hf", repo: "o/r", revision: "v2" }],
    ["org/model-a", { scheme: "cozy", owner: "org", repo: "model-a", tag: "latest" }],
    ["cozy:o/r", { scheme: "cozy", owner: "o", repo: "r", tag: "latest" }],
    ["COZY:o/r:v1", { scheme: "cozy", owner: "o", repo: "r", tag: "v1" }],
    ["o/r:", { scheme: "cozy", owner: "o", repo: "r", tag: "latest" }],
    ["o/r/sub:tag", { scheme: "cozy", owner: "o", repo: "r/sub", tag: "tag" }],
    ["Org/Model:Tag", { scheme: "cozy", owner: "Org", repo: "Model", tag: "Tag" }],
    ["o/r:v1@SHA256:ABC", { scheme: "cozy", owner: "o", repo: "r", tag: "v1", digest: "sha256:ABC" }],
    ["cozy:o/r@blake3:00ff", { scheme: "cozy", owner: "o", repo: "r", tag: "latest", digest: "blake3:00ff" }],
    ["\tcozy:o/r:v1\n", { scheme: "cozy", owner: "o", repo: "r", tag: "v1" }],
  ])("parses %j", (input, expected) => {
    expect(parseModelRef(input)).toEqual(expected);
  });

  it.each([
    ["", "empty model ref"],
    ["   ", "empty model ref"],
    ["hf:", 'empty hf model ref "hf:"'],
    ["hf:hf:", "empty hf model ref"],
    ["hf:o /r", 'model ref "hf:o /r" must not contain spaces'],
    ["o/r :v1", "must not contain spaces"],
    ["hf:gpt2", `hf ref "hf:gpt2" must be 'owner/repo' (for example hf:openai-community/gpt2`],
    ["hf:/r", "hf ref \"hf:/r\" must be 'owner/repo'"],
    ["hf:o/", "hf ref \"hf:o/\" must be 'owner/repo'"],
    ["weird", "cozy ref \"weird\" must be 'owner/repo' (for example cozy:owner/repo"],
    ["cozy:", 'cozy ref "cozy:" is empty'],
    ["cozy:/r", "must be 'owner/repo'"],
    ["cozy:o/", "must be 'owner/repo'"],
    ["o/hf:x:@sha256:0a", "cozy ref \"o/hf:x:@sha256:0a\" must be 'owner/repo'"],
    ["x:y/r:t", "must be 'owner/repo'"],
    ["cozy:o/r@sha256:", 'cozy ref digest must use @sha256:<hex> or @blake3:<hex>, found "@sha256:"'],
    ["cozy:o/r@blake3:", "cozy ref digest must use @sha256:<hex> or @blake3:<hex>"],
    ["cozy:o/r@md5:abc", 'found "@md5:abc" in "cozy:o/r@md5:abc"'],
    ["cozy:o/r@latest", "cozy ref digest must use @sha256:<hex> or @blake3:<hex>"],
    ["cozy:o/r@sha256:xyz", "cozy ref digest must use @sha256:<hex> or @blake3:<hex>"],
  ])("rejects %j", (input, message) => {
    expect(() => parseModelRef(input)).toThrow(ModelRefError);
    expect(() => parseModelRef(input)).toThrow(message);
  });
});

describe("formatModelRef", () => {
  it.each<[ModelRef, string]>([
    [{ scheme: "hf", repo: "o/r" }, "hf:o/r"],
    [{ scheme: "hf", repo: "o/r", revision: "main" }, "hf:o/r@main"],
    [{ scheme: "cozy", owner: "o", repo: "r", tag: "v1" }, "cozy:o/r:v1"],
    [{ scheme: "cozy", owner: "o", repo: "r", tag: "v1", digest: "sha256:ab" }, "cozy:o/r@sha256:ab"],
  ])("formats %j as %s", (ref, expected) => {
    expect(formatModelRef(ref)).toBe(expected);
  });
});

describe("canonicalizeModelRef", () => {
  it.each([
    // canonical forms the Python SDK (gen-worker 0.2.1) gives
    ["org/model-a", "cozy:org/model-a:latest"],
    ["HF:o/r", "hf:o/r"],
    ["o/r:v1@SHA256:ABC", "cozy:o/r@sha256:ABC"],
    ["o/r/sub:tag", "cozy:o/r/sub:tag"],
    ["weird", "weird"],
    // more
    ["hf:hf:o/r@", "hf:o/r"],
    ["hf:o/r@main", "hf:o/r@main"],
    ["cozy:o/r:v1@Blake3:Ab12", "cozy:o/r@blake3:Ab12"],
    [" o/r ", "cozy:o/r:latest"],
    ["hf:gpt2", "hf:gpt2"],
    ["o/r@bad", "o/r@bad"],
  ])("canonicalizes %j to %j", (input, expected) => {
    expect(canonicalizeModelRef(input)).toBe(expected);
  });

  it("is idempotent on canonical refs", () => {
    for (const ref of ["hf:o/r@main", "cozy:o/r:v1", "cozy:o/r/sub@sha256:ABC"]) {
      expect(canonicalizeModelRef(ref)).toBe(ref);
    }
  });
});

describe("canonical form", () => {
  const pieces = ["hf:", "HF:", "cozy:", "o", "R", "/", ":", "@", "sha256:", "Blake3:", "0a", "v1", " ", "."];
  const junk = fc.array(fc.constantFrom(...pieces), { maxLength: 8 }).map((parts) => parts.join(""));
  const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,7}$/);
  const hfRef = fc
    .tuple(fc.constantFrom("hf:", "HF:", "Hf:hf:"), name, name, fc.option(name, { nil: undefined }))
    .map(([scheme, owner, repo, revision]) => `${scheme}${owner}/${repo}${revision ? `@${revision}` : ""}`);
  const cozyRef = fc
    .tuple(
      fc.constantFrom("cozy:", "COZY:", ""),
      name,
      name,
      fc.option(name, { nil: undefined }),
      fc.option(fc.tuple(fc.constantFrom("sha256", "Blake3"), fc.stringMatching(/^[0-9a-fA-F]{8,64}$/)), {
        nil: undefined,
      }),
    )
    .map(
      ([scheme, owner, repo, tag, digest]) =>
        `${scheme}${owner}/${repo}${tag ? `:${tag}` : ""}${digest ? `@${digest[0]}:${digest[1]}` : ""}`,
    );
  const validRef = fc.oneof(hfRef, cozyRef);

  it("canonicalizing twice changes nothing", () => {
    fc.assert(
      fc.property(fc.oneof(validRef, junk), (input) => {
        const canonical = canonicalizeModelRef(input);
        expect(canonicalizeModelRef(canonical)).toBe(canonical);
      }),
      { numRuns: 5000 },
    );
  });

  it("a parsed ref formats to text that parses back to it", () => {
    fc.assert(
      fc.property(validRef, (input) => {
        const ref = tryParse(input);
        expect(ref, input).toBeDefined();
        // The tag is dropped from the text when there is a digest.
        const expected = ref?.scheme === "cozy" && ref.digest ? { ...ref, tag: "latest" } : ref;
        expect(parseModelRef(formatModelRef(ref as ModelRef))).toEqual(expected);
      }),
      { numRuns: 5000 },
    );
  });
});

function tryParse(input: string): ModelRef | undefined {
  try {
    return parseModelRef(input);
  } catch {
    return undefined;
  }
}
