import { minimatch } from "minimatch";
import type { Dtype } from "../../contract/model-spec.js";
import { UserError } from "../../contract/user-errors.js";
import type { HfSelectionOverrides } from "../../settings/models.js";
import { formatBytes } from "../../util/format-bytes.js";
import { normalizeRelativePath } from "../../util/relative-path.js";

/** One file of a Hugging Face repo listing (`GET /api/models/<repo>/tree/<rev>?recursive=true`). */
export interface HfRepoFile {
  path: string;
  size: number;
  /** The LFS object id (sha256 of the content), when the file is stored in LFS. */
  lfsSha256?: string;
  /** The git blob id (sha1 of `blob <size>\0<content>`), for a file outside LFS. */
  gitOid?: string;
}

export interface HfSelectionOptions {
  /** Preference order of the graph variants (cozy.toml `dtypes`, or `COZY_HF_WEIGHT_PRECISIONS`). */
  dtypes: readonly Dtype[];
  /** Globs (minimatch; `!glob` excludes): when given they replace the rules below. */
  files?: readonly string[];
  /** Folders whose graphs and support files are taken (`COZY_HF_COMPONENTS`); `.` is the repo root. */
  components?: readonly string[];
  /** Also take every `*.json` at the repo root (`COZY_HF_ALLOW_ROOT_JSON`). */
  allowRootJson?: boolean;
  /** Take every file of the repo (`COZY_HF_FULL_REPO_DOWNLOAD`). */
  fullRepo?: boolean;
  /** Size guard in bytes (`COZY_HF_MAX_BYTES`); default {@link DEFAULT_HF_MAX_BYTES}, 0 = none. */
  maxBytes?: number;
  /** Names the repo in error messages, for example `hf:onnx-community/foo`. */
  repo?: string;
}

/** The variant of one ONNX graph that the selection took. */
export interface SelectedGraph {
  /** `<dir>/<name>` without dtype suffix and extension, for example `onnx/encoder_model` or `model`. */
  graph: string;
  dtype: Dtype;
  /** The `.onnx` file. */
  file: string;
  /** Its external-data files, sorted. */
  externalData: string[];
}

export interface HfSelection<F extends HfRepoFile = HfRepoFile> {
  /** The files to download, sorted by path; paths are normalized (see `normalizeRelativePath`). */
  files: F[];
  totalBytes: number;
  /** One entry per graph taken by the rules, sorted by graph; empty with `files` globs or `fullRepo`. */
  graphs: SelectedGraph[];
}

export class HfSelectionError extends UserError {}

/** The Python SDK's guard: 30,000,000,000 bytes. */
export const DEFAULT_HF_MAX_BYTES = 30_000_000_000;

/**
 * The file-name suffix of each dtype's graph variant (the transformers.js / Optimum naming). `fp8` and
 * `int4` have no established convention: they match only a literal `_fp8` / `_int4` suffix, so
 * `int4` does not select `_q4` (write `q4` for that).
 */
export const DTYPE_SUFFIXES: Readonly<Record<Dtype, string>> = {
  fp32: "",
  fp16: "_fp16",
  bf16: "_bf16",
  fp8: "_fp8",
  int8: "_int8",
  uint8: "_uint8",
  int4: "_int4",
  q4: "_q4",
  q4f16: "_q4f16",
  bnb4: "_bnb4",
  quantized: "_quantized",
};

const SUFFIXED_DTYPES = (Object.entries(DTYPE_SUFFIXES) as [Dtype, string][])
  .filter(([, suffix]) => suffix !== "")
  .sort((a, b) => b[1].length - a[1].length);

/**
 * Variants that Optimum exports beside the plain graph (optimization levels, architecture-specific
 * quantizations). They belong to the plain graph's family but no dtype selects them; `files` globs can.
 */
const OTHER_VARIANT = /^(.+?)_(O[1-4]|qu?int8_[a-z0-9_]+|optimized)$/i;

/** Config, tokenizer, preprocessor and generation files, by exact file name. */
const SUPPORT_FILE_NAMES = new Set([
  "config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "preprocessor_config.json",
  "processor_config.json",
  "generation_config.json",
  "vocab.json",
  "vocab.txt",
  "merges.txt",
  "added_tokens.json",
  "chat_template.json",
  "chat_template.jinja",
  "model_index.json",
  "scheduler_config.json",
  "genai_config.json",
]);

/** Never taken by the rules (only `files` globs take them). */
const WEIGHT_EXTENSIONS = [
  ".bin",
  ".ckpt",
  ".safetensors",
  ".h5",
  ".pt",
  ".pth",
  ".tflite",
  ".msgpack",
  ".ot",
];

/** External-data files whose names do not follow their graph's (Optimum's `unet/weights.pb`). */
const LOOSE_DATA_FILE = /^weights\.pb$|\.data$|\.onnx_data(_\d+)?$|_data$/;

interface GraphVariant {
  /** A dtype, or the Optimum name of another variant (`O4`, `qint8_avx512`). */
  label: string;
  dtype?: Dtype;
  path: string;
}

interface GraphFamily {
  graph: string;
  dir: string;
  variants: GraphVariant[];
}

/**
 * Chooses the files of an ONNX repo that a model needs: for each graph, the variant of the first
 * preferred dtype that exists and its external data; config and tokenizer files at the root and in
 * the component folders; no framework weights.
 */
export function selectHfFiles<F extends HfRepoFile>(
  listing: readonly F[],
  options: HfSelectionOptions,
): HfSelection<F> {
  const files = listing.map((file) => ({ file, path: normalizeRelativePath(file.path) }));
  const byPath = new Map(files.map((entry) => [entry.path, entry.file]));
  const repo = options.repo ?? "the repo";

  let chosen: Set<string>;
  let graphs: SelectedGraph[] = [];
  if (options.fullRepo) {
    chosen = new Set(byPath.keys());
  } else if (options.files !== undefined && options.files.length > 0) {
    chosen = selectByGlobs([...byPath.keys()], options.files, repo);
  } else {
    ({ chosen, graphs } = selectByRules([...byPath.keys()], options, repo));
  }

  const selected = [...chosen].sort(compareText).map((path) => {
    const file = byPath.get(path) as F;
    return file.path === path ? file : { ...file, path };
  });
  const totalBytes = selected.reduce((sum, file) => sum + (Number.isFinite(file.size) ? file.size : 0), 0);
  const maxBytes = options.maxBytes ?? DEFAULT_HF_MAX_BYTES;
  if (maxBytes > 0 && totalBytes > maxBytes) {
    throw new HfSelectionError(
      `refusing to download ${formatBytes(totalBytes)} (${totalBytes} bytes in ${selected.length} files) from ${repo}: ` +
        `more than the limit of ${formatBytes(maxBytes)}. Raise the limit with COZY_HF_MAX_BYTES=<bytes> ` +
        "(0 = no limit), or name the files to take with files = [...] in the model's cozy.toml table.",
    );
  }
  return { files: selected, totalBytes, graphs };
}

function selectByGlobs(paths: string[], globs: readonly string[], repo: string): Set<string> {
  const include = globs.filter((glob) => !glob.startsWith("!"));
  const exclude = globs.filter((glob) => glob.startsWith("!")).map((glob) => glob.slice(1));
  const chosen = new Set<string>();
  for (const glob of include) {
    const matches = paths.filter((path) => minimatch(path, glob));
    if (matches.length === 0) {
      throw new HfSelectionError(
        `files glob ${JSON.stringify(glob)} matches no file of ${repo}; it has ${describePaths(paths)}`,
      );
    }
    for (const path of matches) {
      if (!exclude.some((glob) => minimatch(path, glob))) chosen.add(path);
    }
  }
  // A graph without its external data cannot be loaded, so the data goes with any listed graph.
  const inFolder = groupByFolder(paths);
  for (const path of [...chosen]) {
    if (!path.endsWith(".onnx")) continue;
    for (const data of externalDataOf(path, inFolder.get(dirOf(path)) ?? [])) chosen.add(data);
  }
  if (chosen.size === 0)
    throw new HfSelectionError(`files globs ${JSON.stringify(globs)} select no file of ${repo}`);
  return chosen;
}

function selectByRules(
  paths: string[],
  options: HfSelectionOptions,
  repo: string,
): { chosen: Set<string>; graphs: SelectedGraph[] } {
  if (options.dtypes.length === 0) throw new HfSelectionError(`no dtypes given for ${repo}`);
  const components = normalizeComponents(options.components);
  const inComponents = (path: string) =>
    components === undefined || components.some((c) => inComponent(path, c));
  if (components !== undefined) {
    if (!components.some((c) => paths.some((path) => inComponent(path, c)))) {
      throw new HfSelectionError(
        `none of the components ${components.join(", ")} (COZY_HF_COMPONENTS) is a folder of ${repo}; ` +
          `its folders: ${describeList(folders(paths))}`,
      );
    }
  }

  const chosen = new Set<string>();
  const graphs: SelectedGraph[] = [];
  const inFolder = groupByFolder(paths);
  const families = graphFamilies(paths.filter((path) => path.endsWith(".onnx") && inComponents(path)));
  if (families.length === 0) {
    const weights = paths.filter((path) => WEIGHT_EXTENSIONS.some((ext) => path.endsWith(ext)));
    const where = components === undefined ? "" : ` in the components ${components.join(", ")}`;
    const has = weights.length > 0 ? `; it has framework weights only (${describeList(weights)})` : "";
    throw new HfSelectionError(
      `${repo} has no ONNX graph (.onnx file)${where}${has}. Use a repo with an ONNX export, name the files ` +
        "with files = [...] in cozy.toml, or set COZY_HF_FULL_REPO_DOWNLOAD=1.",
    );
  }
  for (const family of families) {
    const variant = pickVariant(family, options.dtypes);
    if (variant === undefined) {
      const has = family.variants.map((v) => `${v.label} (${v.path})`).join(", ");
      throw new HfSelectionError(
        `ONNX graph ${family.graph} of ${repo} has no variant for the dtypes ${options.dtypes.join(", ")}; ` +
          `it has ${has}. Change dtypes in cozy.toml (or COZY_HF_WEIGHT_PRECISIONS), or name the files ` +
          "with files = [...].",
      );
    }
    const path = variant.path;
    const externalData = externalDataOf(path, inFolder.get(family.dir) ?? []);
    graphs.push({ graph: family.graph, dtype: variant.dtype as Dtype, file: path, externalData });
    chosen.add(path);
    for (const data of externalData) chosen.add(data);
  }

  for (const path of paths) {
    const name = baseName(path);
    const atRoot = !path.includes("/");
    const support = SUPPORT_FILE_NAMES.has(name) || name.endsWith(".model");
    if (support && (atRoot || inComponents(path))) chosen.add(path);
    else if (atRoot && options.allowRootJson && name.endsWith(".json")) chosen.add(path);
  }
  return { chosen, graphs: graphs.sort((a, b) => compareText(a.graph, b.graph)) };
}

/**
 * The ONNX graphs among a snapshot's files (paths relative to it): one variant per graph, the first of
 * `dtypes` that exists, else the first by label (a snapshot chosen by `files` globs may hold any), with
 * its external data. Sorted by graph name; a snapshot without `.onnx` files has none.
 */
export function onnxGraphsOf(
  paths: readonly string[],
  dtypes: readonly Dtype[],
): Omit<SelectedGraph, "dtype">[] {
  const inFolder = groupByFolder(paths);
  return graphFamilies(paths.filter((path) => path.endsWith(".onnx"))).map((family) => {
    const variant = pickVariant(family, dtypes) ?? (family.variants[0] as GraphVariant);
    return {
      graph: family.graph,
      file: variant.path,
      externalData: externalDataOf(variant.path, inFolder.get(family.dir) ?? []),
    };
  });
}

function inComponent(path: string, component: string): boolean {
  return component === "." ? !path.includes("/") : path.startsWith(`${component}/`);
}

function normalizeComponents(components: readonly string[] | undefined): string[] | undefined {
  if (components === undefined) return undefined;
  const names = components
    .map((c) => c.trim().replace(/^\/+|\/+$/g, ""))
    .map((c) => (c === "" ? "" : c === "." ? "." : normalizeRelativePath(c)))
    .filter((c) => c !== "");
  return names.length === 0 ? undefined : [...new Set(names)];
}

/** Groups `.onnx` files into graph families: `onnx/model.onnx` and `onnx/model_fp16.onnx` are one graph. */
function graphFamilies(onnxPaths: string[]): GraphFamily[] {
  const families = new Map<string, GraphFamily>();
  for (const path of onnxPaths) {
    const dir = dirOf(path);
    const stem = baseName(path).slice(0, -".onnx".length);
    const { base, label, dtype } = parseVariant(stem);
    const graph = dir === "" ? base : `${dir}/${base}`;
    let family = families.get(graph);
    if (family === undefined) {
      family = { graph, dir, variants: [] };
      families.set(graph, family);
    }
    family.variants.push(dtype === undefined ? { label, path } : { label, dtype, path });
  }
  return [...families.values()]
    .map((family) => ({ ...family, variants: family.variants.sort((a, b) => compareText(a.label, b.label)) }))
    .sort((a, b) => compareText(a.graph, b.graph));
}

function parseVariant(stem: string): { base: string; label: string; dtype?: Dtype } {
  for (const [dtype, suffix] of SUFFIXED_DTYPES) {
    if (stem.length > suffix.length && stem.endsWith(suffix)) {
      return { base: stem.slice(0, -suffix.length), label: dtype, dtype };
    }
  }
  const other = OTHER_VARIANT.exec(stem);
  if (other?.[1] !== undefined && other[2] !== undefined) return { base: other[1], label: other[2] };
  return { base: stem, label: "fp32", dtype: "fp32" };
}

function pickVariant(family: GraphFamily, dtypes: readonly Dtype[]): GraphVariant | undefined {
  for (const dtype of dtypes) {
    const variant = family.variants.find((v) => v.dtype === dtype);
    if (variant !== undefined) return variant;
  }
  return undefined;
}

/**
 * The external-data files of `graphPath` among the files of its folder: `<stem>.onnx_data`,
 * `<stem>.onnx.data`, `<stem>.onnx_data_*`, `<stem>_data`; and, when the folder holds only this one
 * graph, any other data-looking file there (Optimum writes `weights.pb` beside `unet/model.onnx`).
 */
function externalDataOf(graphPath: string, folderFiles: readonly string[]): string[] {
  const stem = graphPath.slice(0, -".onnx".length);
  const named = (path: string) =>
    path === `${stem}.onnx_data` ||
    path === `${stem}.onnx.data` ||
    path === `${stem}_data` ||
    path.startsWith(`${stem}.onnx_data_`);
  const result = folderFiles.filter((path) => !path.endsWith(".onnx") && named(path));
  const graphsHere = folderFiles.filter((path) => path.endsWith(".onnx"));
  if (graphsHere.length === 1) {
    for (const path of folderFiles) {
      if (!path.endsWith(".onnx") && !result.includes(path) && LOOSE_DATA_FILE.test(baseName(path))) {
        result.push(path);
      }
    }
  }
  return result.sort(compareText);
}

function groupByFolder(paths: readonly string[]): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const path of paths) {
    const dir = dirOf(path);
    const list = result.get(dir);
    if (list === undefined) result.set(dir, [path]);
    else list.push(path);
  }
  return result;
}

function folders(paths: readonly string[]): string[] {
  return [
    ...new Set(paths.filter((path) => path.includes("/")).map((path) => path.split("/")[0] as string)),
  ].sort(compareText);
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describeList(items: readonly string[], limit = 8): string {
  if (items.length === 0) return "none";
  const shown = items.slice(0, limit).join(", ");
  return items.length > limit ? `${shown} and ${items.length - limit} more` : shown;
}

function describePaths(paths: readonly string[]): string {
  return paths.length === 0
    ? "no files"
    : `${paths.length} files: ${describeList([...paths].sort(compareText))}`;
}

/** Selection options from a model spec and the `COZY_HF_*` overrides of the settings. */
export function hfSelectionOptions(
  spec: { dtypes: readonly Dtype[]; files?: readonly string[] },
  overrides: HfSelectionOverrides,
): HfSelectionOptions {
  const options: HfSelectionOptions = { dtypes: overrides.dtypes ?? spec.dtypes };
  if (spec.files !== undefined) options.files = spec.files;
  if (overrides.components !== undefined) options.components = overrides.components;
  if (overrides.allowRootJson) options.allowRootJson = true;
  if (overrides.fullRepo) options.fullRepo = true;
  if (overrides.maxBytes !== undefined) options.maxBytes = overrides.maxBytes;
  return options;
}
