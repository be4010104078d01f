/**
 * `testKit<typeof import("./src/main.js")>()` types `run` from the handlers: endpoint names,
 * payloads (Asset fields take bytes or a ref) and outputs (Assets in their wire form). The
 * `@ts-expect-error` lines are checked by `npm run typecheck`.
 */
import { join } from "node:path";
import { afterAll, beforeAll, expect, expectTypeOf, it } from "vitest";
import type * as hello from "../../examples/hello/src/main.js";
import type { AssetWire, TestKit } from "../../src/testing/index.js";
import type * as kitProject from "./projects/kit/src/main.js";
import { PROJECTS, REPO_ROOT, testing } from "./testing-module.js";

let kit: TestKit<typeof hello>;

beforeAll(async () => {
  kit = await testing.testKit<typeof hello>(join(REPO_ROOT, "examples/hello"));
});

afterAll(async () => {
  await kit?.close();
});

it("types the payload and the output of a single-output endpoint", async () => {
  const r = await kit.run("hello", { name: "Ada", times: 2 });
  expectTypeOf(r.output).toEqualTypeOf<{ greeting: string } | null>();
  expect(r.output?.greeting).toBe("Hello, Ada! Hello, Ada!");
  // @ts-expect-error: `name` is required.
  await kit.run("hello", { times: 2 });
  // @ts-expect-error: no such endpoint.
  await expect(kit.run("helo", { name: "x" })).rejects.toThrow(/no endpoint "helo"/);
});

it("types a stream's deltas and an Asset output's wire form", async () => {
  const words = await kit.run("words", { text: "a b" });
  expectTypeOf(words.deltas).toEqualTypeOf<{ delta: string }[]>();
  expectTypeOf(words.output).toEqualTypeOf<null>();
  expect(words.deltas.map((d) => d.delta)).toEqual(["a", "b"]);
  const card = await kit.run("card", { name: "Ada" });
  expectTypeOf(card.output).toEqualTypeOf<{ card: AssetWire } | null>();
  expect(card.output?.card.mime_type).toBe("image/svg+xml");
});

it("takes bytes or a ref for an Asset field", async () => {
  const typed = await testing.testKit<typeof kitProject>(join(PROJECTS, "kit"));
  try {
    const r = await typed.run("render", { text: "x", source: new TextEncoder().encode("bytes") });
    expect(r.output?.sourceText).toBe("bytes");
    expectTypeOf<Parameters<typeof typed.run<"render">>[1]["source"]>().toEqualTypeOf<
      { ref: string } | Uint8Array | undefined
    >();
  } finally {
    await typed.close();
  }
});
