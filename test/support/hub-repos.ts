import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FakeHfHub, startFakeHfHub } from "./fake-hf-hub.js";
import { writeTinyModel } from "./onnx/tiny-model.js";

/** A tokenizer.json bigger than the hub's LFS threshold, so the listing gives its sha256. */
export function bigTokenizer(seed = 0): string {
  const vocab: Record<string, number> = {};
  for (let i = 0; i < 600; i += 1) vocab[`tok${seed}_${i}`] = i;
  return JSON.stringify({ version: "1.0", model: { type: "WordLevel", vocab } });
}

/**
 * Writes `<root>/<repo>/` as an ONNX repo: onnx/model.onnx (the tiny model), an int8 variant that
 * fp32 does not select, config.json, a large tokenizer.json and a decoy pytorch_model.bin.
 */
export async function writeOnnxRepo(root: string, repo: string, seed = 0): Promise<string> {
  const dir = join(root, ...repo.split("/"));
  await mkdir(join(dir, "onnx"), { recursive: true });
  await writeTinyModel(join(dir, "onnx", "model.onnx"));
  await writeTinyModel(join(dir, "onnx", "model_int8.onnx"));
  await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "tiny", seed }));
  await writeFile(join(dir, "tokenizer.json"), bigTokenizer(seed));
  await writeFile(join(dir, "pytorch_model.bin"), Buffer.alloc(4096, 7));
  return dir;
}

export const SELECTED = ["config.json", "onnx/model.onnx", "tokenizer.json"];

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A fake Hugging Face hub serving the repos under `root`, and an empty model cache folder. */
export interface HubWithCache {
  root: string;
  cacheDir: string;
  hub: FakeHfHub;
}

/**
 * Makes `<name>-hub-*` and `<name>-cache-*` temporary folders, lets `write` fill the first with
 * repos and starts the fake hub on it; removes what it made when a step fails.
 */
export async function startHubWithCache(
  name: string,
  write: (root: string) => Promise<unknown>,
): Promise<HubWithCache> {
  const made: Partial<HubWithCache> = {};
  try {
    made.root = await tempDir(`${name}-hub-`);
    made.cacheDir = await tempDir(`${name}-cache-`);
    await write(made.root);
    made.hub = await startFakeHfHub(made.root);
    return made as HubWithCache;
  } catch (error) {
    await stopHubWithCache(made);
    throw error;
  }
}

/** Closes the hub and removes both folders; skips what is not there (a setup that failed early). */
export async function stopHubWithCache({ root, cacheDir, hub }: Partial<HubWithCache>): Promise<void> {
  await hub?.close();
  for (const dir of [root, cacheDir]) if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}
