// The handlers run in this process exactly as the worker runs them (gen-worker/testing): payload
// validation and defaults, events, files, output checks. Plain JavaScript on Node's test runner:
// `npm test`. The repository's test/testing/node-test.test.ts runs it as an installed project would.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { formatFuzzReport, fuzz, testKit } from "gen-worker/testing";

const project = new URL("..", import.meta.url);
let kit;

before(async () => {
  kit = await testKit(project);
});

after(async () => {
  await kit.close();
});

test("hello greets, with the default of times filled in", async () => {
  const r = await kit.run("hello", { name: "world" });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.output, { greeting: "Hello, world!" });
  assert.deepEqual(r.logs, [{ message: "greeting world", level: "info" }]);
});

test("hello refuses an empty name", async () => {
  const r = await kit.run("hello", { name: "" });
  assert.equal(r.error?.errorType, "validation");
});

test("words streams the words back", async () => {
  const r = await kit.run("words", { text: "one two three" });
  assert.deepEqual(
    r.deltas.map((d) => d.delta),
    ["one", "two", "three"],
  );
});

test("card saves an SVG file", async () => {
  const r = await kit.run("card", { name: "Ada" });
  assert.match(new TextDecoder().decode(r.files["card.svg"]), /Hello, Ada!/);
});

test("no payload the schemas allow breaks an endpoint", async () => {
  const report = await fuzz(kit, { runs: 50, seed: 1 });
  assert.ok(report.ok, formatFuzzReport(report, { projectDir: kit.dir }));
});
