/**
 * The error mapping where it departs from the Python SDK (gen-worker 0.2.1) on purpose
 * (docs/differences.md): out of memory is recognized by message, built-in errors are never
 * `validation`, and the safe message keeps refs and run paths readable.
 */
import { describe, expect, it } from "vitest";
import { describeFailure, sanitize } from "../../src/runtime/error-mapping.js";

describe("describeFailure", () => {
  it("maps an out-of-memory message of a plain Error to resource (the Python SDK went by class name)", () => {
    for (const message of [
      "Failed to allocate memory for requested buffer of size 1073741824",
      "CUDA failure 2: out of memory",
      "std::bad_alloc",
    ]) {
      expect(describeFailure(new Error(message))).toEqual({
        errorType: "resource",
        retryable: false,
        safeMessage: "out of memory",
        errorMessage: `Error: ${message}`,
      });
    }
  });

  it("never maps a built-in error to validation (the Python SDK mapped every ValueError there)", () => {
    for (const error of [new RangeError("bad value"), new TypeError("bad type"), new Error("bad")]) {
      expect(describeFailure(error)).toMatchObject({ errorType: "internal", safeMessage: "internal error" });
    }
  });
});

describe("sanitize", () => {
  it("keeps model refs and run paths readable (the Python SDK made them owner<path>)", () => {
    expect(sanitize("model hf:acme/det failed on runs/r1/outputs/a.png")).toBe(
      "model hf:acme/det failed on runs/r1/outputs/a.png",
    );
    expect(sanitize("no snapshot of acme/det")).toBe("no snapshot of acme/det");
  });

  it("redacts absolute paths, URLs, bearer tokens, JWTs and key=secret pairs", () => {
    expect(
      sanitize(
        "read /var/cache/models/x from https://hub.example/x?sig=1 with Bearer abc token=s3cret " +
          "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
      ),
    ).toBe("read <path> from <url> with Bearer <redacted> token=<redacted> <redacted>");
  });
});
