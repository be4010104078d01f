import type { InferenceSession } from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticFeeds, warmUp } from "../../../src/models/sessions/warmup.js";
import { createBareSession } from "../../support/bare-session.js";
import { PPOCR_CLS, PPOCR_DET, SILERO_VAD } from "../../support/model-repos.js";

let cls: InferenceSession;
let det: InferenceSession;
let vad: InferenceSession;

beforeAll(async () => {
  const create = createBareSession;
  [cls, det, vad] = await Promise.all([create(PPOCR_CLS), create(PPOCR_DET), create(SILERO_VAD)]);
});

afterAll(async () => {
  await Promise.all([cls, det, vad].map((session) => session?.release()));
});

describe("synthetic feeds from a graph's input metadata", () => {
  it("sets symbolic dimensions to 1, keeps fixed ones, and fills zeros of the input's type", () => {
    const feeds = syntheticFeeds(vad.inputMetadata);
    if (typeof feeds === "string") throw new Error(feeds);
    expect(Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, [t.type, t.dims]]))).toEqual({
      input: ["float32", [1, 1]],
      sr: ["int64", []],
      h: ["float32", [2, 1, 64]],
      c: ["float32", [2, 1, 64]],
    });
    expect(Array.from(feeds.h?.data as Float32Array).every((v) => v === 0)).toBe(true);
  });
});

describe("warmUp on CPU (real sessions)", () => {
  it("runs the PP-OCR classifier and detector once at [1,3,1,1]", async () => {
    for (const session of [cls, det]) {
      const result = await warmUp(session);
      expect(result).toMatchObject({ warmed: true, dims: { x: [1, 3, 1, 1] } });
      expect(result.ms).toBeGreaterThan(0);
    }
  });

  it("tries larger dimensions when a graph cannot run on a few elements (Silero VAD's STFT window)", async () => {
    const result = await warmUp(vad);
    expect(result).toMatchObject({ warmed: true, dims: { input: [1, 512], h: [2, 1, 64] } });
  });

  it("leaves a session cold, without throwing, when no synthetic input works", async () => {
    const failing = {
      inputMetadata: cls.inputMetadata,
      run: () => Promise.reject(new Error("Non-zero status code returned while running Conv node")),
    };
    await expect(warmUp(failing)).resolves.toMatchObject({
      warmed: false,
      reason: "Non-zero status code returned while running Conv node",
    });
  });

  it("throws out-of-memory failures, so that the model host can make room and retry", async () => {
    const full = {
      inputMetadata: cls.inputMetadata,
      run: () => Promise.reject(new Error("Failed to allocate memory for requested buffer of size 4194304")),
    };
    await expect(warmUp(full)).rejects.toThrow(/Failed to allocate memory/);
  });
});
