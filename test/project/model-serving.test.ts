import { describe, expect, it } from "vitest";
import { ConfigError, type ConfigProblem, parseCozyConfig } from "../../src/project/cozy-toml.js";

const HEADER = `schema_version = 1
name = "my-worker"
main = "src/main.ts"
gen_worker = ">=0.1.0,<0.2.0"
[models]
`;

function models(lines: string) {
  return parseCozyConfig(`${HEADER}${lines}\n`, "/project/cozy.toml", { packageVersion: "0.1.0" }).models;
}

function problems(lines: string): { line?: number; message: string }[] {
  try {
    models(lines);
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.problems.map((p: ConfigProblem) => ({
        ...(p.line ? { line: p.line } : {}),
        message: p.message,
      }));
    }
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("cozy.toml: batch = { max_size, max_wait_ms }", () => {
  it("reads the inline-table form, integers and fractions alike", () => {
    expect(models('cls = { ref = "hf:acme/ppocr-cls", batch = { max_size = 32, max_wait_ms = 2 } }')).toEqual(
      {
        cls: { ref: "hf:acme/ppocr-cls", dtypes: ["fp32"], batch: { max_size: 32, max_wait_ms: 2 } },
      },
    );
    expect(models('cls = { ref = "hf:o/r", batch = { max_wait_ms = 0.5 } }').cls?.batch).toEqual({
      max_size: 16,
      max_wait_ms: 0.5,
    });
    expect(models('cls = { ref = "hf:o/r", batch = {} }').cls?.batch).toEqual({
      max_size: 16,
      max_wait_ms: 2,
    });
    expect(models('[models.cls]\nref = "hf:o/r"\nbatch = { max_size = 4 }').cls?.batch).toEqual({
      max_size: 4,
      max_wait_ms: 2,
    });
  });

  it("leaves batch out when it is not written: every call runs alone", () => {
    expect(models('cls = { ref = "hf:o/r" }').cls).toEqual({ ref: "hf:o/r", dtypes: ["fp32"] });
  });

  it.each([
    [
      "not a table",
      'cls = { ref = "hf:o/r", batch = 32 }',
      "models.cls.batch must be a table such as batch = { max_size = 32, max_wait_ms = 2 }, found 32; remove it to run every call alone",
    ],
    [
      "max_size of 1",
      'cls = { ref = "hf:o/r", batch = { max_size = 1 } }',
      "models.cls.batch.max_size must be a whole number from 2 to 1024 (the most rows one batched call holds), found 1: for example max_size = 32, or remove batch to run every call alone",
    ],
    [
      "max_size a fraction",
      'cls = { ref = "hf:o/r", batch = { max_size = 2.5 } }',
      "models.cls.batch.max_size must be a whole number from 2 to 1024 (the most rows one batched call holds), found 2.5: for example max_size = 32, or remove batch to run every call alone",
    ],
    [
      "max_size a string",
      'cls = { ref = "hf:o/r", batch = { max_size = "32" } }',
      'models.cls.batch.max_size must be a whole number from 2 to 1024 (the most rows one batched call holds), found "32": for example max_size = 32, or remove batch to run every call alone',
    ],
    [
      "a negative wait",
      'cls = { ref = "hf:o/r", batch = { max_wait_ms = -1 } }',
      "models.cls.batch.max_wait_ms must be a number of milliseconds from 0 to 1000 (how long a call waits for others to join its batch), found -1: for example max_wait_ms = 2",
    ],
    [
      "a wait over a second",
      'cls = { ref = "hf:o/r", batch = { max_wait_ms = 5000 } }',
      "models.cls.batch.max_wait_ms must be a number of milliseconds from 0 to 1000 (how long a call waits for others to join its batch), found 5000: for example max_wait_ms = 2",
    ],
    [
      "a misspelt key",
      'cls = { ref = "hf:o/r", batch = { max_szie = 8 } }',
      'models.cls.batch has unknown keys "max_szie": it takes only max_size, max_wait_ms, as in batch = { max_size = 32, max_wait_ms = 2 } (did you mean max_size for "max_szie"?)',
    ],
  ])("refuses %s, naming the fix", (_name, line, message) => {
    expect(problems(line)).toEqual([{ line: 6, message }]);
  });

  it("suggests batch for a misspelt model-spec key", () => {
    expect(problems('cls = { ref = "hf:o/r", bacth = { max_size = 8 } }')[0]?.message).toContain(
      '(did you mean batch for "bacth"?)',
    );
  });
});

describe("cozy.toml: cuda = { ... } provider options", () => {
  it("reads ONNX Runtime's option names, enumerations in any case", () => {
    expect(
      models(
        'det = { ref = "hf:o/r", cuda = { cudnn_conv_algo_search = "heuristic", arena_extend_strategy = "KSAMEASREQUESTED", cudnn_conv_use_max_workspace = false, use_tf32 = false } }',
      ).det?.cuda,
    ).toEqual({
      cudnn_conv_algo_search: "HEURISTIC",
      arena_extend_strategy: "kSameAsRequested",
      cudnn_conv_use_max_workspace: false,
      use_tf32: false,
    });
  });

  it.each([
    [
      "an unknown search mode",
      'det = { ref = "hf:o/r", cuda = { cudnn_conv_algo_search = "FAST" } }',
      'models.det.cuda.cudnn_conv_algo_search must be one of "EXHAUSTIVE", "HEURISTIC", "DEFAULT", found "FAST"',
    ],
    [
      "a flag that is not a boolean",
      'det = { ref = "hf:o/r", cuda = { use_tf32 = 1 } }',
      "models.det.cuda.use_tf32 must be true or false, found 1",
    ],
    [
      "an unknown option",
      'det = { ref = "hf:o/r", cuda = { cudnn_conv_algo = "HEURISTIC" } }',
      'models.det.cuda has unknown keys "cudnn_conv_algo": it takes only cudnn_conv_algo_search, arena_extend_strategy, cudnn_conv_use_max_workspace, use_tf32, as in cuda = { cudnn_conv_algo_search = "HEURISTIC" } (did you mean cudnn_conv_algo_search for "cudnn_conv_algo"?)',
    ],
    [
      "not a table",
      'det = { ref = "hf:o/r", cuda = "HEURISTIC" }',
      'models.det.cuda must be a table of CUDA provider options such as cuda = { cudnn_conv_algo_search = "HEURISTIC" }, found "HEURISTIC"',
    ],
  ])("refuses %s", (_name, line, message) => {
    expect(problems(line)).toEqual([{ line: 6, message }]);
  });
});
