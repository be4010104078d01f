import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tensor } from "onnxruntime-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSession,
  describeFailure,
  SessionCreateError,
} from "../../../src/models/sessions/execution-providers.js";
import { DEFAULT_PROVIDERS } from "../../../src/settings/models.js";
import { tinyModelBytes, tinyModelExpected, writeTinyModel } from "../../support/onnx/tiny-model.js";

interface LogLine {
  level: number;
  msg: string;
  provider?: string;
  missingLibrary?: string;
}

function captureLog() {
  const lines: LogLine[] = [];
  const log = pino(
    { level: "info" },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  return { log, lines, warnings: () => lines.filter((l) => l.level === 40) };
}

let dir: string;
let modelPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ort-providers-"));
  modelPath = join(dir, "tiny.onnx");
  await writeTinyModel(modelPath);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("tiny model", () => {
  it("is the 237-byte encoding", () => {
    expect(tinyModelBytes().length).toBe(237);
  });
});

describe("createSession (this machine has no CUDA provider libraries)", () => {
  it("falls back from cuda to cpu with one warning naming the provider and the missing library", async () => {
    const { log, lines, warnings } = captureLog();
    const { session, provider, fallbacks } = await createSession(modelPath, [...DEFAULT_PROVIDERS], log);
    try {
      expect(provider).toBe("cpu");
      expect(fallbacks.map((f) => f.provider)).toEqual(["cuda"]);
      expect(warnings()).toHaveLength(1);
      const warning = warnings()[0];
      expect(warning?.provider).toBe("cuda");
      expect(warning?.missingLibrary).toMatch(/libonnxruntime_providers_(shared|cuda)\.so/);
      expect(warning?.msg).toContain('execution provider "cuda" is unavailable (missing library:');
      expect(warning?.msg).toContain('falling back to "cpu"');
      expect(warning?.msg).toContain("set WORKER_ORT_PROVIDERS=cpu");
      const info = lines.filter((l) => l.level === 30);
      expect(info.map((l) => l.msg)).toEqual([`session for ${modelPath} runs on cpu`]);

      const x = Float32Array.from([1, 2, 3, 4, -1, 0.5, 0.25, -2]);
      const out = await session.run({ X: new Tensor("float32", x, [2, 4]) });
      expect(out.Y?.dims).toEqual([2, 3]);
      const expected = tinyModelExpected(x);
      const actual = out.Y?.data as Float32Array;
      expect(actual).toHaveLength(expected.length);
      for (const [i, value] of expected.entries()) expect(actual[i]).toBeCloseTo(value, 5);
    } finally {
      await session.release();
    }
  });

  it("gives no warning with cpu alone", async () => {
    const { log, warnings } = captureLog();
    const { session, provider, fallbacks } = await createSession(modelPath, ["cpu"], log);
    expect(provider).toBe("cpu");
    expect(fallbacks).toEqual([]);
    expect(warnings()).toEqual([]);
    await session.release();
  });

  it("throws a SessionCreateError listing every provider's failure when none works", async () => {
    const { log, warnings } = captureLog();
    const bad = join(dir, "not-onnx.onnx");
    await writeFile(bad, "not a model");
    const error = await createSession(bad, ["cuda", "cpu"], log).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionCreateError);
    expect((error as SessionCreateError).failures.map((f) => f.provider)).toEqual(["cuda", "cpu"]);
    expect((error as Error).message).toContain(`could not create an ONNX Runtime session for ${bad}: cuda: `);
    expect(warnings()).toHaveLength(1);
  });

  it("takes the missing library from ORT's message when it names one", () => {
    const failure = describeFailure(
      "cuda",
      new Error(
        "Failed to load library /x/libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file: No such file or directory",
      ),
    );
    expect(failure.missingLibrary).toBe("libcublasLt.so.13");
  });
});
