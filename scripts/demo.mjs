// `npm run demo`: the whole loop on examples/hello. Starts the dev runner, invokes a
// single-output endpoint that writes a file and a streaming one, then stops the runner.
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "bin/cozy-worker.js");
const project = join(root, "examples/hello");

const runner = spawn(
  process.execPath,
  [cli, "run", "--local", project, "--listen", "127.0.0.1:0", "--outputs", join(project, "outputs")],
  {
    stdio: ["ignore", "inherit", "pipe"],
  },
);
let log = "";
const url = await new Promise((resolve, reject) => {
  runner.stderr.on("data", (chunk) => {
    process.stderr.write(chunk);
    log += chunk;
    const match = /dev runner on (\S+)/.exec(log);
    if (match) resolve(match[1]);
  });
  runner.once("exit", (code) => reject(new Error(`the dev runner exited (${code})`)));
});

let failed = false;
for (const args of [
  ["invoke", "hello", "name=world", "times:=2"],
  ["invoke", "card", "name=world"],
  ["invoke", "words", "text=streamed one word at a time"],
]) {
  console.log(`\n$ cozy-worker ${args.join(" ")} --url ${url}`);
  const result = spawnSync(process.execPath, [cli, ...args, "--url", url], { stdio: "inherit" });
  failed ||= result.status !== 0;
}
runner.kill("SIGTERM");
await new Promise((resolve) => runner.once("exit", resolve));
process.exitCode = failed ? 1 : 0;
