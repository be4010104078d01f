import type { TomlTable, TomlValue } from "smol-toml";
import {
  ARENA_EXTEND_STRATEGIES,
  BATCH_LIMITS,
  type BatchSpec,
  CUDA_OPTION_KEYS,
  CUDNN_CONV_ALGO_SEARCH,
  type CudaSpec,
  DEFAULT_BATCH,
} from "../contract/model-spec.js";
import { closestKey } from "./key-suggestion.js";

/** What the cozy.toml reader lends these checks: where to report, and how to show keys and values. */
export interface SpecReader {
  error(at: readonly string[], message: string): void;
  /** A dotted key path as TOML writes it. */
  label(at: readonly string[]): string;
  /** A TOML value as it would be written. */
  describe(value: TomlValue): string;
}

const BATCH_KEYS = ["max_size", "max_wait_ms"] as const;
const BATCH_EXAMPLE = "batch = { max_size = 32, max_wait_ms = 2 }";
const CUDA_EXAMPLE = 'cuda = { cudnn_conv_algo_search = "HEURISTIC" }';

/**
 * A model's `batch` table: `max_size` (whole number, 2 to 1024) and `max_wait_ms` (0 to 1000), each
 * optional ({@link DEFAULT_BATCH}). Undefined, with the problems reported, when it is malformed.
 */
export function readBatchSpec(
  value: TomlValue,
  at: readonly string[],
  reader: SpecReader,
): BatchSpec | undefined {
  if (!isTable(value)) {
    reader.error(
      at,
      `${reader.label(at)} must be a table such as ${BATCH_EXAMPLE}, found ${reader.describe(value)}; remove it to run every call alone`,
    );
    return undefined;
  }
  let ok = checkKeys(value, at, BATCH_KEYS, BATCH_EXAMPLE, reader);
  const spec: BatchSpec = { ...DEFAULT_BATCH };
  if (value.max_size !== undefined) {
    const size = toNumber(value.max_size);
    const { min, max } = BATCH_LIMITS.max_size;
    if (size === undefined || !Number.isInteger(size) || size < min || size > max) {
      ok = false;
      reader.error(
        [...at, "max_size"],
        `${reader.label([...at, "max_size"])} must be a whole number from ${min} to ${max} (the most rows one batched call holds), found ${reader.describe(value.max_size)}: for example max_size = 32, or remove batch to run every call alone`,
      );
    } else spec.max_size = size;
  }
  if (value.max_wait_ms !== undefined) {
    const wait = toNumber(value.max_wait_ms);
    const { min, max } = BATCH_LIMITS.max_wait_ms;
    if (wait === undefined || !Number.isFinite(wait) || wait < min || wait > max) {
      ok = false;
      reader.error(
        [...at, "max_wait_ms"],
        `${reader.label([...at, "max_wait_ms"])} must be a number of milliseconds from ${min} to ${max} (how long a call waits for others to join its batch), found ${reader.describe(value.max_wait_ms)}: for example max_wait_ms = 2`,
      );
    } else spec.max_wait_ms = wait;
  }
  return ok ? spec : undefined;
}

/**
 * A model's `cuda` table: CUDA execution provider options in ONNX Runtime's names. Enumerated values
 * are matched without regard to case and written in ONNX Runtime's spelling.
 */
export function readCudaSpec(
  value: TomlValue,
  at: readonly string[],
  reader: SpecReader,
): CudaSpec | undefined {
  if (!isTable(value)) {
    reader.error(
      at,
      `${reader.label(at)} must be a table of CUDA provider options such as ${CUDA_EXAMPLE}, found ${reader.describe(value)}`,
    );
    return undefined;
  }
  let ok = checkKeys(value, at, CUDA_OPTION_KEYS, CUDA_EXAMPLE, reader);
  const spec: CudaSpec = {};
  const choice = <T extends string>(key: keyof CudaSpec, allowed: readonly T[]): T | undefined => {
    const written = value[key];
    if (written === undefined) return undefined;
    const found =
      typeof written === "string"
        ? allowed.find((option) => option.toLowerCase() === written.trim().toLowerCase())
        : undefined;
    if (found === undefined) {
      ok = false;
      reader.error(
        [...at, key],
        `${reader.label([...at, key])} must be one of ${allowed.map((option) => JSON.stringify(option)).join(", ")}, found ${reader.describe(written)}`,
      );
    }
    return found;
  };
  const flag = (key: keyof CudaSpec): boolean | undefined => {
    const written = value[key];
    if (written === undefined || typeof written === "boolean") return written;
    ok = false;
    reader.error(
      [...at, key],
      `${reader.label([...at, key])} must be true or false, found ${reader.describe(written)}`,
    );
    return undefined;
  };
  const search = choice("cudnn_conv_algo_search", CUDNN_CONV_ALGO_SEARCH);
  if (search !== undefined) spec.cudnn_conv_algo_search = search;
  const arena = choice("arena_extend_strategy", ARENA_EXTEND_STRATEGIES);
  if (arena !== undefined) spec.arena_extend_strategy = arena;
  const workspace = flag("cudnn_conv_use_max_workspace");
  if (workspace !== undefined) spec.cudnn_conv_use_max_workspace = workspace;
  const tf32 = flag("use_tf32");
  if (tf32 !== undefined) spec.use_tf32 = tf32;
  return ok ? spec : undefined;
}

function checkKeys(
  table: TomlTable,
  at: readonly string[],
  known: readonly string[],
  example: string,
  reader: SpecReader,
): boolean {
  const unknown = Object.keys(table).filter((key) => !known.includes(key));
  if (unknown.length === 0) return true;
  const guesses = unknown.flatMap((key) => {
    const meant = closestKey(key, known);
    return meant === undefined ? [] : [` (did you mean ${meant} for ${JSON.stringify(key)}?)`];
  });
  reader.error(
    at,
    `${reader.label(at)} has unknown keys ${unknown.map((key) => JSON.stringify(key)).join(", ")}: it takes only ${known.join(", ")}, as in ${example}${guesses.join("")}`,
  );
  return false;
}

/** TOML integers come as bigint (the parser keeps 1 and 1.0 apart). */
function toNumber(value: TomlValue): number | undefined {
  if (typeof value === "bigint") return Number(value);
  return typeof value === "number" ? value : undefined;
}

function isTable(value: TomlValue): value is TomlTable {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
