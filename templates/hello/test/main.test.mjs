// Runs the handlers in this process exactly as the worker does (gen-worker/testing): payload
// validation and defaults, events, output checks. Plain JavaScript on Node's built-in test runner.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { formatFuzzReport, fuzz, testKit } from "gen-worker/testing";

let kit;

before(async () => {
  kit = await testKit(new URL("..", import.meta.url));
});

after(() => kit.close());

test("greet answers with a greeting", async () => {
  const r = await kit.run("greet", { name: "world", times: 2 });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.output, { greeting: "Hello, world! Hello, world!" });
});

test("greet rejects a payload that breaks its constraints", async () => {
  const r = await kit.run("greet", { name: "" });
  assert.equal(r.error?.errorType, "validation");
});

test("echo streams the words back", async () => {
  const r = await kit.run("echo", { text: "one two three" });
  assert.deepEqual(
    r.deltas.map((delta) => delta.delta),
    ["one", "two", "three"],
  );
});

test("no payload the schemas allow breaks an endpoint", async () => {
  const report = await fuzz(kit, { runs: 100, seed: 1 });
  assert.ok(report.ok, formatFuzzReport(report, { projectDir: kit.dir }));
});
