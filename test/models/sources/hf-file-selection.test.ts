import { describe, expect, it } from "vitest";
import type { Dtype } from "../../../src/contract/model-spec.js";
import {
  DEFAULT_HF_MAX_BYTES,
  type HfRepoFile,
  HfSelectionError,
  type HfSelectionOptions,
  hfSelectionOptions,
  selectHfFiles,
} from "../../../src/models/sources/hf-file-selection.js";
import { modelSettingsFromEnv } from "../../../src/settings/models.js";
import { EnvironmentError } from "../../../src/settings/read.js";
import { UnsafePathError } from "../../../src/util/relative-path.js";

const MB = 1_000_000;

function listing(entries: Record<string, number>): HfRepoFile[] {
  return Object.entries(entries).map(([path, size]) => ({ path, size }));
}

/** A transformers.js-style encoder-decoder repo (like onnx-community/whisper-tiny.en): many variants per graph. */
const WHISPER = listing({
  ".gitattributes": 1_519,
  "README.md": 4_000,
  "added_tokens.json": 34_604,
  "config.json": 2_240,
  "generation_config.json": 1_963,
  "merges.txt": 493_869,
  "normalizer.json": 52_666,
  "preprocessor_config.json": 339,
  "quantize_config.json": 600,
  "special_tokens_map.json": 2_194,
  "tokenizer.json": 2_480_617,
  "tokenizer_config.json": 283_000,
  "vocab.json": 999_186,
  ...Object.fromEntries(
    ["encoder_model", "decoder_model", "decoder_model_merged", "decoder_with_past_model"].flatMap((graph) =>
      [
        ["", 40],
        ["_fp16", 20],
        ["_int8", 10],
        ["_uint8", 10],
        ["_quantized", 10],
        ["_q4", 8],
        ["_bnb4", 8],
      ].map(([suffix, size]) => [`onnx/${graph}${suffix}.onnx`, Number(size) * MB]),
    ),
  ),
  // Only the decoders have a q4f16 export here.
  "onnx/decoder_model_q4f16.onnx": 6 * MB,
  "onnx/decoder_model_merged_q4f16.onnx": 6 * MB,
  "onnx/decoder_with_past_model_q4f16.onnx": 6 * MB,
});

const WHISPER_SUPPORT = [
  "added_tokens.json",
  "config.json",
  "generation_config.json",
  "merges.txt",
  "preprocessor_config.json",
  "special_tokens_map.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.json",
];

/** A sentence-transformers repo: framework weights beside an Optimum onnx/ folder with O1-O4 and arch-specific exports. */
const MINILM = listing({
  ".gitattributes": 1_229,
  "1_Pooling/config.json": 190,
  "README.md": 10_000,
  "config.json": 612,
  "config_sentence_transformers.json": 116,
  "data_config.json": 39_265,
  "model.safetensors": 90_868_376,
  "modules.json": 349,
  "onnx/model.onnx": 90_405_214,
  "onnx/model_O1.onnx": 90_360_328,
  "onnx/model_O2.onnx": 90_326_566,
  "onnx/model_O3.onnx": 90_326_497,
  "onnx/model_O4.onnx": 45_212_349,
  "onnx/model_qint8_arm64.onnx": 23_026_053,
  "onnx/model_qint8_avx512.onnx": 23_026_053,
  "onnx/model_qint8_avx512_vnni.onnx": 23_026_053,
  "onnx/model_quint8_avx2.onnx": 23_046_789,
  "openvino/openvino_model.bin": 90_265_744,
  "openvino/openvino_model.xml": 211_315,
  "pytorch_model.bin": 90_888_945,
  "rust_model.ot": 90_887_379,
  "sentence_bert_config.json": 53,
  "special_tokens_map.json": 112,
  "tf_model.h5": 91_005_696,
  "tokenizer.json": 466_247,
  "tokenizer_config.json": 350,
  "train_script.py": 13_156,
  "vocab.txt": 231_508,
});

/** A diffusers pipeline exported by Optimum (text_encoder/unet/vae_* folders; the UNet's data in weights.pb). */
const STABLE_DIFFUSION = listing({
  "README.md": 14_000,
  "model_index.json": 582,
  "feature_extractor/preprocessor_config.json": 342,
  "safety_checker/config.json": 4_600,
  "safety_checker/model.onnx": 1_216_000_000,
  "scheduler/scheduler_config.json": 346,
  "text_encoder/config.json": 600,
  "text_encoder/model.onnx": 492_000_000,
  "tokenizer/merges.txt": 524_619,
  "tokenizer/special_tokens_map.json": 472,
  "tokenizer/tokenizer_config.json": 806,
  "tokenizer/vocab.json": 1_059_962,
  "unet/config.json": 1_000,
  "unet/model.onnx": 1_200_000,
  "unet/weights.pb": 3_438_000_000,
  "unet/diffusion_pytorch_model.safetensors": 3_438_000_000,
  "vae_decoder/config.json": 600,
  "vae_decoder/model.onnx": 198_000_000,
  "vae_encoder/config.json": 600,
  "vae_encoder/model.onnx": 137_000_000,
});

/** An LLM export with external data in every common spelling (like onnx-community/Llama-3.2-1B-Instruct). */
const LLM = listing({
  "config.json": 1_000,
  "generation_config.json": 200,
  "tokenizer.json": 17_000_000,
  "tokenizer_config.json": 54_000,
  "chat_template.jinja": 4_000,
  "onnx/model.onnx": 200_000,
  "onnx/model.onnx_data": 2_000_000_000,
  "onnx/model.onnx_data_1": 2_000_000_000,
  "onnx/model.onnx_data_2": 1_000_000_000,
  "onnx/model_fp16.onnx": 200_000,
  "onnx/model_fp16.onnx_data": 2_470_000_000,
  "onnx/model_q4.onnx": 300_000,
  "onnx/model_q4.onnx.data": 1_000_000_000,
  "onnx/model_q4f16.onnx": 1_050_000_000,
  "onnx/model_int8.onnx": 1_500_000_000,
  "onnx/model_bnb4.onnx": 1_100_000_000,
  "onnx/model_uint8.onnx_data": 5,
  "onnx/model_uint8.onnx": 300_000,
  "onnx/model_uint8_data": 1_400_000_000,
});

/** A PyTorch-only repo. */
const BIN_ONLY = listing({
  "config.json": 700,
  "pytorch_model.bin": 440_000_000,
  "tokenizer.json": 466_000,
  "vocab.txt": 231_000,
});

const whisperGraphs = (pick: (graph: string) => string) =>
  ["decoder_model", "decoder_model_merged", "decoder_with_past_model", "encoder_model"].map(
    (graph) => `onnx/${graph}${pick(graph)}.onnx`,
  );

interface Case {
  name: string;
  files: HfRepoFile[];
  options: HfSelectionOptions;
  expected: string[];
}

const cases: Case[] = [
  {
    name: "whisper, fp32: the unsuffixed graph of each of the four families, and the support files",
    files: WHISPER,
    options: { dtypes: ["fp32"] },
    expected: [...WHISPER_SUPPORT, ...whisperGraphs(() => "")],
  },
  {
    name: "whisper, q4f16 then fp16: q4f16 where it exists, fp16 for the encoder",
    files: WHISPER,
    options: { dtypes: ["q4f16", "fp16"] },
    expected: [
      ...WHISPER_SUPPORT,
      ...whisperGraphs((graph) => (graph === "encoder_model" ? "_fp16" : "_q4f16")),
    ],
  },
  ...(
    [
      ["int8", "_int8"],
      ["uint8", "_uint8"],
      ["quantized", "_quantized"],
      ["q4", "_q4"],
      ["bnb4", "_bnb4"],
    ] as [Dtype, string][]
  ).map(
    ([dtype, suffix]): Case => ({
      name: `whisper, ${dtype}: the ${suffix} variant`,
      files: WHISPER,
      options: { dtypes: [dtype] },
      expected: [...WHISPER_SUPPORT, ...whisperGraphs(() => suffix)],
    }),
  ),
  {
    name: "whisper, allowRootJson: every root JSON as well",
    files: WHISPER,
    options: { dtypes: ["fp16"], allowRootJson: true },
    expected: [
      ...WHISPER_SUPPORT,
      "normalizer.json",
      "quantize_config.json",
      ...whisperGraphs(() => "_fp16"),
    ],
  },
  {
    name: "minilm, fp32: onnx/model.onnx only (O1-O4 and arch-specific exports are variants), no framework weights",
    files: MINILM,
    options: { dtypes: ["fp32"] },
    expected: [
      "1_Pooling/config.json",
      "config.json",
      "onnx/model.onnx",
      "special_tokens_map.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "vocab.txt",
    ],
  },
  {
    name: "stable diffusion: every graph folder, weights.pb with the UNet, configs and tokenizer, no safetensors",
    files: STABLE_DIFFUSION,
    options: { dtypes: ["fp16", "fp32"] },
    expected: [
      "feature_extractor/preprocessor_config.json",
      "model_index.json",
      "safety_checker/config.json",
      "safety_checker/model.onnx",
      "scheduler/scheduler_config.json",
      "text_encoder/config.json",
      "text_encoder/model.onnx",
      "tokenizer/merges.txt",
      "tokenizer/special_tokens_map.json",
      "tokenizer/tokenizer_config.json",
      "tokenizer/vocab.json",
      "unet/config.json",
      "unet/model.onnx",
      "unet/weights.pb",
      "vae_decoder/config.json",
      "vae_decoder/model.onnx",
      "vae_encoder/config.json",
      "vae_encoder/model.onnx",
    ],
  },
  {
    name: "stable diffusion with components: only those folders, plus the root configs",
    files: STABLE_DIFFUSION,
    options: {
      dtypes: ["fp32"],
      components: [" text_encoder/", "tokenizer", "unet", "vae_decoder", "scheduler", "unet"],
    },
    expected: [
      "model_index.json",
      "scheduler/scheduler_config.json",
      "text_encoder/config.json",
      "text_encoder/model.onnx",
      "tokenizer/merges.txt",
      "tokenizer/special_tokens_map.json",
      "tokenizer/tokenizer_config.json",
      "tokenizer/vocab.json",
      "unet/config.json",
      "unet/model.onnx",
      "unet/weights.pb",
      "vae_decoder/config.json",
      "vae_decoder/model.onnx",
    ],
  },
  {
    name: "llm, fp32: the graph and its numbered .onnx_data files",
    files: LLM,
    options: { dtypes: ["fp32"] },
    expected: [
      "chat_template.jinja",
      "config.json",
      "generation_config.json",
      "onnx/model.onnx",
      "onnx/model.onnx_data",
      "onnx/model.onnx_data_1",
      "onnx/model.onnx_data_2",
      "tokenizer.json",
      "tokenizer_config.json",
    ],
  },
  {
    name: "llm, fp16: only the fp16 graph's data",
    files: LLM,
    options: { dtypes: ["fp16"] },
    expected: [
      "chat_template.jinja",
      "config.json",
      "generation_config.json",
      "onnx/model_fp16.onnx",
      "onnx/model_fp16.onnx_data",
      "tokenizer.json",
      "tokenizer_config.json",
    ],
  },
  {
    name: "llm, q4: .onnx.data spelling",
    files: LLM,
    options: { dtypes: ["bf16", "q4"] },
    expected: [
      "chat_template.jinja",
      "config.json",
      "generation_config.json",
      "onnx/model_q4.onnx",
      "onnx/model_q4.onnx.data",
      "tokenizer.json",
      "tokenizer_config.json",
    ],
  },
  {
    name: "llm, uint8: _data and .onnx_data spellings",
    files: LLM,
    options: { dtypes: ["uint8"] },
    expected: [
      "chat_template.jinja",
      "config.json",
      "generation_config.json",
      "onnx/model_uint8.onnx",
      "onnx/model_uint8.onnx_data",
      "onnx/model_uint8_data",
      "tokenizer.json",
      "tokenizer_config.json",
    ],
  },
  {
    name: "files globs replace the rules and may take framework weights",
    files: BIN_ONLY,
    options: { dtypes: ["fp32"], files: ["*.bin", "config.json"] },
    expected: ["config.json", "pytorch_model.bin"],
  },
  {
    name: "files globs with exclusions and braces",
    files: WHISPER,
    options: { dtypes: ["fp32"], files: ["onnx/encoder_model{,_fp16}.onnx", "*.json", "!*config.json"] },
    expected: [
      "added_tokens.json",
      "normalizer.json",
      "special_tokens_map.json",
      "tokenizer.json",
      "vocab.json",
      "onnx/encoder_model.onnx",
      "onnx/encoder_model_fp16.onnx",
    ],
  },
  {
    name: "a graph named by a glob brings its external data",
    files: LLM,
    options: { dtypes: ["fp32"], files: ["onnx/model_fp16.onnx"] },
    expected: ["onnx/model_fp16.onnx", "onnx/model_fp16.onnx_data"],
  },
  {
    name: "fullRepo takes everything",
    files: BIN_ONLY,
    options: { dtypes: ["fp32"], fullRepo: true },
    expected: ["config.json", "pytorch_model.bin", "tokenizer.json", "vocab.txt"],
  },
];

describe("selectHfFiles", () => {
  it.each(cases)("$name", ({ files, options, expected }) => {
    const selection = selectHfFiles(files, options);
    const paths = selection.files.map((file) => file.path);
    expect(paths).toEqual([...expected].sort());
    const sizes = new Map(files.map((file) => [file.path, file.size]));
    expect(selection.totalBytes).toBe(paths.reduce((sum, path) => sum + (sizes.get(path) ?? 0), 0));
    for (const path of paths) {
      if (options.files === undefined && !options.fullRepo) {
        expect(path).not.toMatch(/\.(bin|ckpt|safetensors|h5|pt|pth|tflite|msgpack|ot)$/);
      }
    }
  });

  it("reports each chosen graph with its dtype and external data", () => {
    const { graphs } = selectHfFiles(LLM, { dtypes: ["fp32"] });
    expect(graphs).toEqual([
      {
        graph: "onnx/model",
        dtype: "fp32",
        file: "onnx/model.onnx",
        externalData: ["onnx/model.onnx_data", "onnx/model.onnx_data_1", "onnx/model.onnx_data_2"],
      },
    ]);
    const whisper = selectHfFiles(WHISPER, { dtypes: ["q4f16", "fp16"] }).graphs;
    expect(whisper.map((g) => [g.graph, g.dtype])).toEqual([
      ["onnx/decoder_model", "q4f16"],
      ["onnx/decoder_model_merged", "q4f16"],
      ["onnx/decoder_with_past_model", "q4f16"],
      ["onnx/encoder_model", "fp16"],
    ]);
  });

  it("keeps the listing's own fields (the LFS sha256) on the chosen files", () => {
    const files = [
      { path: "model.onnx", size: 10, lfsSha256: "ab".repeat(32), oid: "x" },
      { path: "config.json", size: 1, oid: "y" },
    ];
    const selection = selectHfFiles(files, { dtypes: ["fp32"] });
    expect(selection.files).toEqual([files[1], files[0]]);
    expect(selection.files[1]?.lfsSha256).toBe("ab".repeat(32));
  });

  it("fails on a repo with only framework weights, naming them and the ways out", () => {
    expect(() =>
      selectHfFiles(BIN_ONLY, { dtypes: ["fp32"], repo: "hf:google-bert/bert-base-uncased" }),
    ).toThrow(
      new HfSelectionError(
        "hf:google-bert/bert-base-uncased has no ONNX graph (.onnx file); it has framework weights only " +
          "(pytorch_model.bin). Use a repo with an ONNX export, name the files with files = [...] in cozy.toml, " +
          "or set COZY_HF_FULL_REPO_DOWNLOAD=1.",
      ),
    );
  });

  it("fails when a graph has no variant for any preferred dtype, listing the variants it has", () => {
    expect(() => selectHfFiles(MINILM, { dtypes: ["fp16", "bf16"] })).toThrow(
      "ONNX graph onnx/model of the repo has no variant for the dtypes fp16, bf16; it has O1 (onnx/model_O1.onnx), " +
        "O2 (onnx/model_O2.onnx), O3 (onnx/model_O3.onnx), O4 (onnx/model_O4.onnx), fp32 (onnx/model.onnx), " +
        "qint8_arm64 (onnx/model_qint8_arm64.onnx), qint8_avx512 (onnx/model_qint8_avx512.onnx), " +
        "qint8_avx512_vnni (onnx/model_qint8_avx512_vnni.onnx), quint8_avx2 (onnx/model_quint8_avx2.onnx).",
    );
    expect(() => selectHfFiles(WHISPER, { dtypes: ["q4f16"] })).toThrow(
      /ONNX graph onnx\/encoder_model .* has no variant for the dtypes q4f16; it has bnb4 \(onnx\/encoder_model_bnb4.onnx\), fp16/,
    );
  });

  it.each<[Dtype, string]>([
    ["fp8", "_fp8"],
    ["int4", "_int4"],
  ])("maps %s to the literal %s suffix only", (dtype, suffix) => {
    const files = listing({ "onnx/model.onnx": 1, [`onnx/model${suffix}.onnx`]: 1, "onnx/model_q4.onnx": 1 });
    expect(selectHfFiles(files, { dtypes: [dtype] }).files.map((f) => f.path)).toEqual([
      `onnx/model${suffix}.onnx`,
    ]);
    expect(() => selectHfFiles(WHISPER, { dtypes: [dtype] })).toThrow(HfSelectionError);
  });

  it("guards the total size, with the overrides in the message", () => {
    expect(() => selectHfFiles(LLM, { dtypes: ["fp32"], maxBytes: 1_000_000_000, repo: "hf:o/llm" })).toThrow(
      "refusing to download 5.02 GB (5017259200 bytes in 9 files) from hf:o/llm: more than the limit of 1.00 GB. " +
        "Raise the limit with COZY_HF_MAX_BYTES=<bytes> (0 = no limit), or name the files to take with " +
        "files = [...] in the model's cozy.toml table.",
    );
    const huge = listing({ "model.onnx": 1000, "model.onnx_data": DEFAULT_HF_MAX_BYTES });
    expect(() => selectHfFiles(huge, { dtypes: ["fp32"] })).toThrow(/30\.0 GB/);
    expect(selectHfFiles(huge, { dtypes: ["fp32"], maxBytes: 0 }).totalBytes).toBe(
      DEFAULT_HF_MAX_BYTES + 1000,
    );
    expect(() => selectHfFiles(huge, { dtypes: ["fp32"], fullRepo: true })).toThrow(HfSelectionError);
  });

  it("fails on components that name no folder", () => {
    expect(() => selectHfFiles(STABLE_DIFFUSION, { dtypes: ["fp32"], components: ["transformer"] })).toThrow(
      /none of the components transformer \(COZY_HF_COMPONENTS\) is a folder of the repo; its folders: feature_extractor/,
    );
  });

  it("fails on a glob that matches nothing", () => {
    expect(() => selectHfFiles(WHISPER, { dtypes: ["fp32"], files: ["config.json", "onnx/*.ort"] })).toThrow(
      /files glob "onnx\/\*\.ort" matches no file of the repo; it has 44 files: .gitattributes, README.md/,
    );
  });

  it("refuses a listing with a path that escapes the folder", () => {
    const files = listing({ "config.json": 1, "../config.json": 1, "model.onnx": 1 });
    expect(() => selectHfFiles(files, { dtypes: ["fp32"] })).toThrow(UnsafePathError);
    expect(() => selectHfFiles(listing({ "a//b.onnx": 1 }), { dtypes: ["fp32"] })).toThrow(UnsafePathError);
  });

  it("normalizes backslashes and leading slashes", () => {
    const files = listing({ "\\onnx\\model.onnx": 5, "/config.json": 1 });
    expect(selectHfFiles(files, { dtypes: ["fp32"] }).files).toEqual([
      { path: "config.json", size: 1 },
      { path: "onnx/model.onnx", size: 5 },
    ]);
  });

  it("takes weights.pb only when its folder holds a single graph", () => {
    const files = listing({ "unet/model.onnx": 1, "unet/model_fp16.onnx": 1, "unet/weights.pb": 1 });
    expect(selectHfFiles(files, { dtypes: ["fp32"] }).files.map((f) => f.path)).toEqual(["unet/model.onnx"]);
  });

  it("takes root graphs with the `.` component", () => {
    const files = listing({ "model.onnx": 1, "config.json": 1, "extra/model.onnx": 1 });
    expect(selectHfFiles(files, { dtypes: ["fp32"], components: ["."] }).files.map((f) => f.path)).toEqual([
      "config.json",
      "model.onnx",
    ]);
  });
});

/** The selection options a worker started with `env` uses for `spec`. */
const selectionFor = (spec: { dtypes: Dtype[]; files?: string[] }, env: Record<string, string>) =>
  hfSelectionOptions(spec, modelSettingsFromEnv(env).hfSelection);

describe("hfSelectionOptions with the COZY_HF_* overrides", () => {
  it("keeps the spec when no override is set", () => {
    expect(selectionFor({ dtypes: ["fp16"], files: ["a"] }, {})).toEqual({
      dtypes: ["fp16"],
      files: ["a"],
    });
  });

  it("reads every override", () => {
    expect(
      selectionFor(
        { dtypes: ["fp32"] },
        {
          COZY_HF_WEIGHT_PRECISIONS: " FP16, q4 ,fp16",
          COZY_HF_COMPONENTS: "unet, text_encoder",
          COZY_HF_ALLOW_ROOT_JSON: "Yes",
          COZY_HF_FULL_REPO_DOWNLOAD: "t",
          COZY_HF_MAX_BYTES: "0",
        },
      ),
    ).toEqual({
      dtypes: ["fp16", "q4"],
      components: ["unet", "text_encoder"],
      allowRootJson: true,
      fullRepo: true,
      maxBytes: 0,
    });
    expect(selectionFor({ dtypes: ["fp32"] }, { COZY_HF_FULL_REPO_DOWNLOAD: "0" }).fullRepo).toBeUndefined();
  });

  it("reports malformed overrides together", () => {
    const read = () =>
      selectionFor({ dtypes: ["fp32"] }, { COZY_HF_WEIGHT_PRECISIONS: "fp16,f32", COZY_HF_MAX_BYTES: "3GB" });
    expect(read).toThrow(EnvironmentError);
    expect(read).toThrow(
      /COZY_HF_WEIGHT_PRECISIONS has unknown dtypes f32[\s\S]*COZY_HF_MAX_BYTES must be a whole number/,
    );
  });
});
