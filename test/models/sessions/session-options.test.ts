import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tensor } from "onnxruntime-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultSessionFactory } from "../../../src/models/sessions/session-factory.js";
import {
  BINDING_APPLIES_CUDA_OPTIONS,
  modelSessionOptions,
  ORT_CUDA_DEFAULTS,
} from "../../../src/models/sessions/session-options.js";
import { tinyModelExpected, writeTinyModel } from "../../support/onnx/tiny-model.js";

let dir: string;
let tiny: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "session-options-"));
  tiny = join(dir, "tiny.onnx");
  await writeTinyModel(tiny);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a model's cozy.toml cuda options", () => {
  it("become CUDA provider options under ONNX Runtime's names, flags as strings", () => {
    expect(modelSessionOptions(undefined)).toEqual({ providerOptions: {}, unappliedCuda: [] });
    expect(modelSessionOptions({ cudnn_conv_algo_search: "HEURISTIC", use_tf32: true })).toEqual({
      providerOptions: { cuda: { deviceId: 0, cudnn_conv_algo_search: "HEURISTIC", use_tf32: "1" } },
      // use_tf32 = true is ONNX Runtime's default, so only the search mode is a change the binding drops.
      unappliedCuda: ['cudnn_conv_algo_search = "HEURISTIC"'],
    });
  });

  it("are known not to reach ONNX Runtime through onnxruntime-node 1.29's binding", () => {
    expect(BINDING_APPLIES_CUDA_OPTIONS).toBe(false);
    expect(ORT_CUDA_DEFAULTS.cudnn_conv_algo_search).toBe("EXHAUSTIVE");
  });

  it("leave a CPU session alone: it is created and runs, with no warning", async () => {
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const session = await defaultSessionFactory({ providers: ["cpu"], log })(tiny, {
      ref: "hf:test/tiny",
      dtypes: ["fp32"],
      cuda: { cudnn_conv_algo_search: "HEURISTIC", arena_extend_strategy: "kSameAsRequested" },
    });
    try {
      const x = [1, 2, 3, 4];
      const out = await session.run({ X: new Tensor("float32", Float32Array.from(x), [1, 4]) });
      expect(Array.from(out.Y?.data as Float32Array)).toEqual(Array.from(tinyModelExpected(x)));
      expect(lines.filter((line) => line.level >= 40)).toEqual([]);
    } finally {
      await session.release();
    }
  });
});
