// Drives the handlers through the dev runner (`cozy-worker run --local`), as a client would.
// Plain JavaScript on Node's built-in test runner: no test framework or TypeScript loader needed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const project = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(dirname(createRequire(import.meta.url).resolve("gen-worker/package.json")), "bin/cozy-worker.js");

let runner;
let url;
let outputs;

before(async () => {
  outputs = await mkdtemp(join(tmpdir(), "cozy-test-outputs-"));
  runner = spawn(process.execPath, [cli, "run", "--local", project, "--listen", "127.0.0.1:0", "--outputs", outputs], {
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  url = await new Promise((resolve, reject) => {
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`the dev runner did not start:\n${stderr}`)), 30_000);
    runner.stderr.on("data", (chunk) => {
      stderr += chunk;
      const match = /dev runner on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    runner.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the dev runner exited with ${code}:\n${stderr}`));
    });
  });
});

after(async () => {
  if (runner && runner.exitCode === null) {
    const exited = new Promise((resolve) => runner.once("exit", resolve));
    runner.kill("SIGTERM");
    await exited;
  }
  if (outputs) await rm(outputs, { recursive: true, force: true });
});

async function run(endpoint, payload) {
  const response = await fetch(`${url}/v1/run/${endpoint}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  return { status: response.status, body: await response.json() };
}

test("greet answers with a greeting", async () => {
  const { status, body } = await run("greet", { name: "world", times: 2 });
  assert.equal(status, 200);
  assert.deepEqual(body.output, { greeting: "Hello, world! Hello, world!" });
});

test("greet rejects a payload that breaks its constraints", async () => {
  const { status } = await run("greet", { name: "" });
  assert.equal(status, 422);
});

test("echo streams the words back", async () => {
  const { status, body } = await run("echo", { text: "one two three" });
  assert.equal(status, 200);
  assert.equal(body.success, true);
  const deltas = body.events.filter((event) => event.event_type === "output.delta");
  assert.deepEqual(
    deltas.map((event) => event.payload.delta),
    ["one", "two", "three"],
  );
});
