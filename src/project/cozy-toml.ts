import { readFile, stat } from "node:fs/promises";
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { satisfies, validRange } from "semver";
import { parse, TomlError, type TomlTable, type TomlValue } from "smol-toml";
import { ModelRefError, parseModelRef } from "../contract/model-ref.js";
import {
  DEFAULT_DTYPES,
  DTYPES,
  type Dtype,
  type ModelSpec,
  type Resources,
} from "../contract/model-spec.js";
import type { Problem } from "../contract/problems.js";
import { ProblemsError } from "../contract/user-errors.js";
import { closestKey } from "./key-suggestion.js";
import { readBatchSpec, readCudaSpec, type SpecReader } from "./model-serving.js";
import { slugify } from "./slug.js";
import { locateKey } from "./toml-locate.js";

/** A problem found in cozy.toml. */
export type ConfigProblem = Problem;

export interface CozyConfig {
  /** Absolute path of cozy.toml. */
  file: string;
  /** Absolute project directory. */
  dir: string;
  schemaVersion: 1;
  /** As written, trimmed. */
  name: string;
  /** `slugify(name)`. */
  projectName: string;
  /** Relative path as written, e.g. "src/main.ts". */
  main: string;
  /** Absolute path of `main`. */
  mainPath: string;
  /** The gen-worker version range as written. */
  genWorker: string;
  /** The global model keyspace, in file order. */
  models: Record<string, ModelSpec>;
  /** Endpoint slug to its own keyspace; endpoints without models are left out. */
  endpoints: Record<string, Record<string, ModelSpec>>;
  resources: Resources;
  /** `[host.requirements].cuda`, if present. */
  cuda?: string;
  warnings: ConfigProblem[];
}

/** cozy.toml could not be read or is invalid; `problems` lists every error found. */
export class ConfigError extends ProblemsError {}

/**
 * Validates the text of a cozy.toml; throws a {@link ConfigError} listing all the problems found.
 * `main` is relative to `projectDir`, by default the folder of `file`.
 */
export function parseCozyConfig(
  text: string,
  file: string,
  options: { packageVersion: string; projectDir?: string },
): CozyConfig {
  const configFile = resolve(file);
  const dir = options.projectDir === undefined ? dirname(configFile) : resolve(options.projectDir);
  const root = parseToml(text, configFile);
  const findings = new Findings(text, configFile);
  checkSchemaVersion(root, findings);
  const name = readName(root, findings);
  const main = readMain(root, dir, findings);
  const genWorker = readGenWorker(root, options.packageVersion, findings);
  const cuda = readCuda(root, findings);
  const models = readModelTable(root, ["models"], findings);
  const endpoints = readEndpoints(root, findings);
  const resources = readResources(root, findings);
  warnUnknownKeys(root, [], TOP_LEVEL_KEYS, findings);
  if (findings.errors.length > 0 || name === undefined || main === undefined || genWorker === undefined) {
    throw new ConfigError(findings.errors);
  }
  return {
    file: configFile,
    dir,
    schemaVersion: 1,
    name,
    projectName: slugify(name),
    main,
    mainPath: resolve(dir, main),
    genWorker,
    models: models ?? {},
    endpoints,
    resources,
    ...(cuda === undefined ? {} : { cuda }),
    warnings: findings.warnings,
  };
}

export interface LoadCozyConfigOptions {
  packageVersion: string;
  /**
   * `COZY_MANIFEST_PATH`: the cozy.toml to read instead of `<projectDir>/cozy.toml`. Its `main` is
   * still a path inside `projectDir`, the folder being discovered; a missing file there is an error,
   * with no fallback to `<projectDir>/cozy.toml` (as in the Python SDK).
   */
  cozyTomlPath?: string;
}

/**
 * Reads and validates the project's cozy.toml (`<projectDir>/cozy.toml`, or `cozyTomlPath`) and
 * checks that its `main` file exists.
 */
export async function loadCozyConfig(
  projectDir: string,
  options: LoadCozyConfigOptions,
): Promise<CozyConfig> {
  const dir = resolve(projectDir);
  const { packageVersion, cozyTomlPath } = options;
  const file = cozyTomlPath === undefined ? join(dir, "cozy.toml") : resolve(cozyTomlPath);
  const text = await readConfigText(dir, file, cozyTomlPath !== undefined);
  const config = parseCozyConfig(text, file, { packageVersion, projectDir: dir });
  await checkMainExists(config, text);
  return config;
}

const TOP_LEVEL_KEYS = [
  "schema_version",
  "name",
  "main",
  "gen_worker",
  "host",
  "models",
  "endpoints",
  "resources",
];
const RESOURCE_KEYS = ["vram_gb", "ram_gb", "cpu_cores", "disk_gb"] as const;
const MODEL_SPEC_KEYS = ["ref", "dtypes", "files", "batch", "cuda"];
const MAIN_EXTENSIONS = [".ts", ".mts", ".tsx", ".js", ".mjs"];
const MAIN_EXAMPLE = '"src/main.ts"';
const MODEL_REF_EXAMPLE = '"hf:owner/repo"';
const CUDA_CLAUSE = /^(>=|<=|==|~=|>|<)?\d+(\.\d+){0,2}$/;

/** A key as a path of table names, e.g. ["endpoints", "my-ep", "models", "sd15"]. */
type KeyPath = readonly string[];

/** Collects errors and warnings, each pointed at the line of the key it is about. */
class Findings {
  readonly errors: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];

  constructor(
    private readonly source: string,
    private readonly file: string,
  ) {}

  /** `at` is left out for a key that is missing. */
  error(at: KeyPath | undefined, message: string): void {
    this.errors.push(this.problem(at, message));
  }

  warn(at: KeyPath, message: string): void {
    this.warnings.push(this.problem(at, message));
  }

  private problem(at: KeyPath | undefined, message: string): ConfigProblem {
    const position = at && locateKey(this.source, at.slice(0, -1), at.at(-1) ?? "");
    return { file: this.file, ...position, message };
  }
}

function parseToml(text: string, file: string): TomlTable {
  try {
    return parse(text, { integersAsBigInt: true, unsafeKeyBehaviour: "throw" });
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const summary = (error.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
    const message = `not valid TOML: ${summary}; fix the syntax at this position`;
    throw new ConfigError([{ file, line: error.line, column: error.column, message }]);
  }
}

function checkSchemaVersion(root: TomlTable, findings: Findings): void {
  const value = root.schema_version;
  // Integers are parsed as bigint, so a float such as 1.0 is told apart from the integer 1.
  if (value === 1n) return;
  if (value === undefined) {
    reportMissingKey(root, { key: "schema_version", example: "1" }, findings);
  } else {
    findings.error(
      ["schema_version"],
      `schema_version must be 1, found ${describe(value)}: write schema_version = 1`,
    );
  }
}

function readName(root: TomlTable, findings: Findings): string | undefined {
  const name = readRequiredString(root, { key: "name", example: '"my-worker"' }, findings);
  if (name !== undefined && slugify(name) === "") {
    findings.error(
      ["name"],
      `invalid name ${quote(name)}: it needs letters or digits to make the project slug from, for example name = "my-worker"`,
    );
    return undefined;
  }
  return name;
}

function readMain(root: TomlTable, dir: string, findings: Findings): string | undefined {
  const main = readRequiredString(root, { key: "main", example: MAIN_EXAMPLE }, findings);
  if (main === undefined) return undefined;
  const problem = mainPathProblem(main, dir);
  if (problem === undefined) return main;
  findings.error(["main"], `main ${quote(main)} ${problem}`);
  return undefined;
}

function mainPathProblem(main: string, dir: string): string | undefined {
  if (isAbsolute(main)) {
    return `is an absolute path: write it relative to the project directory, such as ${MAIN_EXAMPLE}`;
  }
  if (pathInside(dir, resolve(dir, main)) === undefined) {
    return `points outside the project directory ${dir}: main must be a file inside it, such as ${MAIN_EXAMPLE}`;
  }
  const extension = extname(main);
  if (MAIN_EXTENSIONS.includes(extension)) return undefined;
  if (looksLikePythonModule(main)) {
    return `looks like a Python module: main is a file path such as ${MAIN_EXAMPLE}, not a module name`;
  }
  const found = extension === "" ? "found no extension" : `found a ${extension} file`;
  return `must be a ${listChoices(MAIN_EXTENSIONS)} file, ${found}: point main at your entry file, such as ${MAIN_EXAMPLE}`;
}

function looksLikePythonModule(main: string): boolean {
  return /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/.test(main) && extname(main) !== ".py";
}

function readGenWorker(root: TomlTable, packageVersion: string, findings: Findings): string | undefined {
  const example = `"^${packageVersion}"`;
  const range = readRequiredString(
    root,
    { key: "gen_worker", example, label: "gen_worker constraint" },
    findings,
  );
  if (range === undefined) return undefined;
  // Python-style ranges separate clauses with commas, node-semver with spaces.
  const npmRange = range.replaceAll(",", " ").replace(/\s+/g, " ").trim();
  if (validRange(npmRange) === null) {
    findings.error(
      ["gen_worker"],
      `gen_worker ${quote(range)} is not a valid version range: write a semver range such as ${example} or ">=0.1.0 <0.2.0"`,
    );
    return undefined;
  }
  if (!satisfies(packageVersion, npmRange, { includePrerelease: true })) {
    findings.error(
      ["gen_worker"],
      `gen_worker ${quote(range)} does not include the installed gen-worker ${packageVersion}: ` +
        `install a matching version (npm install 'gen-worker@${npmRange}') or widen the range to include ${packageVersion}`,
    );
  }
  return range;
}

/** What a required top-level string is called in messages, and an example value. */
interface RequiredString {
  key: string;
  example: string;
  /** How messages name it; the key by default. */
  label?: string;
}

/**
 * A required top-level key is absent. The likely causes are a misspelt key or the key written
 * below a `[table]` header (where TOML puts it in that table), so the error points at either.
 */
function reportMissingKey(
  root: TomlTable,
  { key, example }: { key: string; example: string },
  findings: Findings,
): void {
  const unknownKeys = Object.keys(root).filter((written) => !TOP_LEVEL_KEYS.includes(written));
  const misspelt = closestKey(key, unknownKeys);
  if (misspelt !== undefined) {
    findings.error(
      [misspelt],
      `missing key ${key}: ${keyLabel([misspelt])} is not a known key; did you mean ${key}? rename it to ${key}`,
    );
    return;
  }
  const table = Object.entries(root).find(([, value]) => isTable(value) && value[key] !== undefined)?.[0];
  if (table !== undefined) {
    findings.error(
      [table, key],
      `missing key ${key}: it is written below [${keyLabel([table])}], which makes it ${keyLabel([table, key])}: move ${key} = ... above the first [table] header`,
    );
    return;
  }
  findings.error(undefined, `missing key ${key}: add ${key} = ${example}`);
}

/** A required, non-empty string at the top level, trimmed. */
function readRequiredString(
  root: TomlTable,
  { key, example, label = key }: RequiredString,
  findings: Findings,
): string | undefined {
  const value = root[key];
  if (value === undefined) {
    reportMissingKey(root, { key, example }, findings);
    return undefined;
  }
  if (typeof value !== "string") {
    findings.error([key], `${label} must be a string such as ${example}, found ${describe(value)}`);
    return undefined;
  }
  if (value.trim() === "") {
    findings.error([key], `${label} cannot be empty: write ${key} = ${example}`);
    return undefined;
  }
  return value.trim();
}

function readCuda(root: TomlTable, findings: Findings): string | undefined {
  const host = readOptionalTable(root, ["host"], findings);
  if (host === undefined) return undefined;
  warnUnknownKeys(host, ["host"], ["requirements"], findings);
  const requirements = readOptionalTable(host, ["host", "requirements"], findings);
  if (requirements === undefined) return undefined;
  warnUnknownKeys(requirements, ["host", "requirements"], ["cuda"], findings);
  const cuda = requirements.cuda;
  const at = ["host", "requirements", "cuda"];
  if (cuda === undefined) return undefined;
  if (typeof cuda !== "string") {
    findings.error(at, `host.requirements.cuda must be a string such as ">=12.4", found ${describe(cuda)}`);
    return undefined;
  }
  const clauses = cuda.split(/[\s,]+/).filter((clause) => clause !== "");
  if (clauses.length === 0) {
    findings.error(at, 'cuda constraint cannot be empty: write cuda = ">=12.4" or remove the key');
    return undefined;
  }
  const invalidClause = clauses.find((clause) => !CUDA_CLAUSE.test(clause));
  if (invalidClause !== undefined) {
    findings.error(
      at,
      `invalid cuda constraint clause: '${invalidClause}' in ${quote(cuda)}: each clause must be a version ` +
        `of one to three numbers, optionally after >=, <=, ==, ~=, > or <, for example cuda = ">=12.4"`,
    );
    return undefined;
  }
  return cuda.trim();
}

/** The model keyspace at `path` (`[models]` or `[endpoints.<slug>.models]`), or undefined when absent. */
function readModelTable(
  parent: TomlTable,
  path: KeyPath,
  findings: Findings,
): Record<string, ModelSpec> | undefined {
  const table = readOptionalTable(parent, path, findings);
  if (table === undefined) return undefined;
  const models = new Map<string, ModelSpec>();
  const seenKeys = new Set<string>();
  for (const [writtenKey, value] of Object.entries(table)) {
    const at = [...path, writtenKey];
    const key = writtenKey.trim();
    if (key === "") {
      findings.error(
        at,
        `[${keyLabel(path)}] has an empty model key: name the model, such as sd15 = ${MODEL_REF_EXAMPLE}`,
      );
      continue;
    }
    if (seenKeys.has(key)) {
      findings.error(
        at,
        `[${keyLabel(path)}] defines model ${quote(key)} twice (keys are trimmed): keep one`,
      );
      continue;
    }
    seenKeys.add(key);
    const spec = readModelSpec(value, at, findings);
    if (spec !== undefined) models.set(key, spec);
  }
  return Object.fromEntries(models);
}

function readModelSpec(value: TomlValue, at: KeyPath, findings: Findings): ModelSpec | undefined {
  if (typeof value === "string") {
    const ref = readModelRef(value, at, findings);
    return ref === undefined ? undefined : { ref, dtypes: [...DEFAULT_DTYPES] };
  }
  if (isTable(value)) return readModelSpecTable(value, at, findings);
  findings.error(
    at,
    `${keyLabel(at)}: model spec must be a string or a table {ref=..., dtypes=[...]}, found ${describe(value)}; ` +
      `for example ${keyLabel(at.slice(-1))} = ${MODEL_REF_EXAMPLE}`,
  );
  return undefined;
}

function readModelSpecTable(spec: TomlTable, at: KeyPath, findings: Findings): ModelSpec | undefined {
  const unknownKeys = Object.keys(spec).filter((key) => !MODEL_SPEC_KEYS.includes(key));
  if (unknownKeys.length > 0) {
    const guesses = unknownKeys.flatMap((key) => {
      const meant = closestKey(key, MODEL_SPEC_KEYS);
      return meant === undefined ? [] : [` (did you mean ${meant} for ${quote(key)}?)`];
    });
    findings.error(
      at,
      `${keyLabel(at)} has unknown keys ${unknownKeys.map(quote).join(", ")}: a model spec takes only the keys ${MODEL_SPEC_KEYS.join(", ")}${guesses.join("")}`,
    );
  }
  if (spec.ref === undefined) {
    findings.error(at, `${keyLabel(at)}: model spec missing ref; add ref = ${MODEL_REF_EXAMPLE}`);
  }
  const ref = spec.ref === undefined ? undefined : readModelRef(spec.ref, [...at, "ref"], findings);
  const dtypes =
    spec.dtypes === undefined ? [...DEFAULT_DTYPES] : readDtypes(spec.dtypes, [...at, "dtypes"], findings);
  const files = spec.files === undefined ? [] : readFileGlobs(spec.files, [...at, "files"], findings);
  const reader = specReader(findings);
  const batch = spec.batch === undefined ? undefined : readBatchSpec(spec.batch, [...at, "batch"], reader);
  const cuda = spec.cuda === undefined ? undefined : readCudaSpec(spec.cuda, [...at, "cuda"], reader);
  if (ref === undefined || dtypes === undefined || files === undefined) return undefined;
  if ((spec.batch !== undefined && batch === undefined) || (spec.cuda !== undefined && cuda === undefined)) {
    return undefined;
  }
  return {
    ref,
    dtypes,
    ...(spec.files === undefined ? {} : { files }),
    ...(batch === undefined ? {} : { batch }),
    ...(cuda === undefined ? {} : { cuda }),
  };
}

/** The helpers the `batch` and `cuda` checks of src/project/model-serving.ts report through. */
function specReader(findings: Findings): SpecReader {
  return { error: (at, message) => findings.error(at, message), label: keyLabel, describe };
}

/** A model ref, trimmed, that {@link parseModelRef} accepts. */
function readModelRef(value: TomlValue, at: KeyPath, findings: Findings): string | undefined {
  const example = `such as ${MODEL_REF_EXAMPLE} or "cozy:owner/repo:tag"`;
  if (typeof value !== "string") {
    findings.error(at, `${keyLabel(at)} must be a model ref string ${example}, found ${describe(value)}`);
    return undefined;
  }
  const ref = value.trim();
  if (ref === "") {
    findings.error(at, `${keyLabel(at)} is an empty model ref: write a ref ${example}`);
    return undefined;
  }
  try {
    parseModelRef(ref);
  } catch (error) {
    if (!(error instanceof ModelRefError)) throw error;
    findings.error(at, `${keyLabel(at)}: ${error.message}`);
    return undefined;
  }
  return ref;
}

function readDtypes(value: TomlValue, at: KeyPath, findings: Findings): Dtype[] | undefined {
  const entries = readStringList(value, at, '["fp16"]', findings);
  if (entries === undefined) return undefined;
  const written = entries.map((entry) => entry.trim()).filter((entry) => entry !== "");
  if (written.length === 0) {
    findings.error(
      at,
      `${keyLabel(at)} lists no dtypes: list at least one, such as ["fp16"], or remove dtypes to use the default ${JSON.stringify(DEFAULT_DTYPES)}`,
    );
    return undefined;
  }
  const dtypes = written.filter(isDtype);
  if (dtypes.length < written.length) {
    const invalid = written.filter((entry) => !isDtype(entry));
    findings.error(
      at,
      `${keyLabel(at)}: model spec has invalid dtypes: ${JSON.stringify(invalid)} (allowed: ${DTYPES.join(", ")})`,
    );
    return undefined;
  }
  return dtypes;
}

function readFileGlobs(value: TomlValue, at: KeyPath, findings: Findings): string[] | undefined {
  const example = '["*.onnx", "tokenizer.json"]';
  const globs = readStringList(value, at, example, findings);
  if (globs === undefined) return undefined;
  if (globs.some((glob) => glob.trim() === "")) {
    findings.error(at, `${keyLabel(at)} has an empty entry: list file globs such as ${example}`);
    return undefined;
  }
  return globs.map((glob) => glob.trim());
}

function readStringList(
  value: TomlValue,
  at: KeyPath,
  example: string,
  findings: Findings,
): string[] | undefined {
  if (Array.isArray(value) && value.every((entry) => typeof entry === "string")) return value;
  findings.error(
    at,
    `${keyLabel(at)} must be a list of strings such as ${example}, found ${describe(value)}`,
  );
  return undefined;
}

export function isDtype(text: string): text is Dtype {
  return (DTYPES as readonly string[]).includes(text);
}

function readEndpoints(root: TomlTable, findings: Findings): Record<string, Record<string, ModelSpec>> {
  const endpoints = readOptionalTable(root, ["endpoints"], findings) ?? {};
  const keyspaces = new Map<string, Record<string, ModelSpec>>();
  for (const [endpoint, value] of Object.entries(endpoints)) {
    const at = ["endpoints", endpoint];
    checkEndpointKey(endpoint, findings);
    if (!isTable(value)) {
      findings.error(
        at,
        `${keyLabel(at)} must be a table, found ${describe(value)}: list its models under [${keyLabel([...at, "models"])}]`,
      );
      continue;
    }
    warnUnknownKeys(value, at, ["models"], findings);
    const models = readModelTable(value, [...at, "models"], findings);
    if (models !== undefined && Object.keys(models).length > 0) keyspaces.set(endpoint, models);
  }
  return Object.fromEntries(keyspaces);
}

/** Endpoints are looked up by slug, so a key that is not its own slug would never match. */
function checkEndpointKey(endpoint: string, findings: Findings): void {
  const slug = slugify(endpoint);
  if (slug === endpoint) return;
  const header = `[${keyLabel(["endpoints", endpoint])}]`;
  const fix =
    slug === ""
      ? "is not a valid endpoint slug: use the slug of the endpoint's name (lowercase letters, digits, '-' and '.')"
      : `must be written [${keyLabel(["endpoints", slug])}]: endpoint keys are endpoint slugs (lowercase, '-' instead of '_')`;
  findings.error(["endpoints", endpoint], `${header} ${fix}`);
}

function readResources(root: TomlTable, findings: Findings): Resources {
  const table = readOptionalTable(root, ["resources"], findings);
  const resources: Resources = {};
  if (table === undefined) return resources;
  warnUnknownKeys(table, ["resources"], RESOURCE_KEYS, findings);
  for (const key of RESOURCE_KEYS) {
    const value = table[key];
    if (value === undefined) continue;
    const amount = typeof value === "bigint" ? Number(value) : value;
    if (typeof amount === "number" && Number.isFinite(amount) && amount >= 0) {
      resources[key] = amount;
    } else {
      findings.error(
        ["resources", key],
        `resources.${key} must be a non-negative number, found ${describe(value)}: for example ${key} = 8`,
      );
    }
  }
  return resources;
}

/** The table at `path` under `parent`; undefined (with an error) when it is some other value. */
function readOptionalTable(parent: TomlTable, path: KeyPath, findings: Findings): TomlTable | undefined {
  const value = parent[path.at(-1) ?? ""];
  if (value === undefined || isTable(value)) return value;
  findings.error(
    path,
    `${keyLabel(path)} must be a table, found ${describe(value)}: write it as [${keyLabel(path)}]`,
  );
  return undefined;
}

/** Unknown keys are ignored, with a warning so that typos show. */
function warnUnknownKeys(
  table: TomlTable,
  path: KeyPath,
  knownKeys: readonly string[],
  findings: Findings,
): void {
  const where = path.length === 0 ? "" : ` in [${keyLabel(path)}]`;
  for (const key of Object.keys(table)) {
    if (knownKeys.includes(key)) continue;
    const at = [...path, key];
    const meant = closestKey(key, knownKeys);
    const fix = meant === undefined ? "check its spelling" : `did you mean ${meant}?`;
    findings.warn(
      at,
      `${keyLabel(at)} is not a known key and is ignored: ${fix} (known keys${where}: ${knownKeys.join(", ")})`,
    );
  }
}

async function readConfigText(dir: string, file: string, fromVariable: boolean): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const message = fromVariable ? variableFailureMessage(dir, error) : await readFailureMessage(dir, error);
    throw new ConfigError([{ file, message }]);
  }
}

/** cozy.toml named by `COZY_MANIFEST_PATH` cannot be read: a missing file there counts as missing. */
function variableFailureMessage(dir: string, error: unknown): string {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  const fix = `point COZY_MANIFEST_PATH at the project's cozy.toml, or unset it to read ${join(dir, "cozy.toml")}`;
  if (code === "ENOENT" || code === "ENOTDIR") return `not found (COZY_MANIFEST_PATH names it): ${fix}`;
  if (code === "EISDIR") return `is a directory (COZY_MANIFEST_PATH names it): ${fix}`;
  return `cannot be read (COZY_MANIFEST_PATH names it): ${error instanceof Error ? error.message : String(error)}`;
}

async function readFailureMessage(dir: string, error: unknown): Promise<string> {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  if (code === "ENOENT" && !(await exists(dir))) {
    return `project directory ${dir} does not exist: pass the directory that holds cozy.toml`;
  }
  if (code === "ENOENT") {
    return `not found in ${dir}: create one (see examples/hello/cozy.toml) or run cozy-worker init`;
  }
  if (code === "ENOTDIR") return `${dir} is not a directory: pass the project directory that holds cozy.toml`;
  return `cannot be read: ${error instanceof Error ? error.message : String(error)}`;
}

async function checkMainExists(config: CozyConfig, text: string): Promise<void> {
  const info = await stat(config.mainPath).catch(() => undefined);
  if (info?.isFile()) return;
  const problem = info === undefined ? `does not exist in ${config.dir}` : "is not a file";
  const findings = new Findings(text, config.file);
  findings.error(["main"], `main: ${quote(config.main)} ${problem}: create it or fix the path`);
  throw new ConfigError(findings.errors);
}

function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function isTable(value: TomlValue | undefined): value is TomlTable {
  return typeof value === "object" && !Array.isArray(value) && !(value instanceof Date);
}

/** The path of `target` relative to `dir`, or undefined when it lies outside `dir`. */
function pathInside(dir: string, target: string): string | undefined {
  const fromDir = relative(dir, target);
  const outside = fromDir === ".." || fromDir.startsWith(`..${sep}`) || isAbsolute(fromDir);
  return outside ? undefined : fromDir;
}

/** A TOML value as it would be written, shortened for tables. */
function describe(value: TomlValue): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return Number.isInteger(value) ? value.toFixed(1) : String(value);
  if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`;
  if (value instanceof Date) return value.toISOString();
  if (isTable(value)) return "a table";
  return String(value);
}

/** A dotted key path as TOML writes it, quoting the parts that need it. */
function keyLabel(path: KeyPath): string {
  return path.map((part) => (/^[A-Za-z0-9_-]+$/.test(part) ? part : JSON.stringify(part))).join(".");
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function listChoices(choices: readonly string[]): string {
  return choices.length < 2 ? choices.join("") : `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
}
