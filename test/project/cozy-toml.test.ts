import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatProblem } from "../../src/contract/problems.js";
import {
  ConfigError,
  type ConfigProblem,
  type CozyConfig,
  loadCozyConfig,
  parseCozyConfig,
} from "../../src/project/cozy-toml.js";
import { locateKey } from "../../src/project/toml-locate.js";

const OPTIONS = { packageVersion: "0.1.0" };
const FILE = "/project/cozy.toml";
/** Four valid lines, so the lines a test adds start at line 5. */
const HEADER = `schema_version = 1
name = "my-worker"
main = "src/main.ts"
gen_worker = ">=0.1.0,<0.2.0"
`;

function parse(text: string, packageVersion = OPTIONS.packageVersion): CozyConfig {
  return parseCozyConfig(text, FILE, { packageVersion });
}

function problemsOf(action: () => unknown): readonly ConfigProblem[] {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

async function problemsOfAsync(action: () => Promise<unknown>): Promise<readonly ConfigProblem[]> {
  const error = await action().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (error instanceof ConfigError) return error.problems;
  throw new Error(`expected a ConfigError, got ${String(error)}`);
}

describe("parseCozyConfig: a valid file", () => {
  it("reads every section", () => {
    const text = `schema_version = 1
name = "My Cool_Project"
main = "src/main.ts"
gen_worker = "^0.1.0"

[host.requirements]
cuda = ">=12.4"

[models]
sd15 = "hf:owner/repo"
flux = { ref = " cozy:acme/flux:v1 ", dtypes = ["bf16", "fp8"], files = ["*.onnx", "tokenizer.json"] }

[endpoints.generate.models]
sd15 = "hf:owner/other@main"

[endpoints.no-models]

[endpoints.empty.models]

[resources]
vram_gb = 24
ram_gb = 31.5
cpu_cores = 4
disk_gb = 0
`;
    expect(parse(text)).toEqual({
      file: FILE,
      dir: "/project",
      schemaVersion: 1,
      name: "My Cool_Project",
      projectName: "my-cool-project",
      main: "src/main.ts",
      mainPath: "/project/src/main.ts",
      genWorker: "^0.1.0",
      models: {
        sd15: { ref: "hf:owner/repo", dtypes: ["fp32"] },
        flux: { ref: "cozy:acme/flux:v1", dtypes: ["bf16", "fp8"], files: ["*.onnx", "tokenizer.json"] },
      },
      endpoints: { generate: { sd15: { ref: "hf:owner/other@main", dtypes: ["fp32"] } } },
      resources: { vram_gb: 24, ram_gb: 31.5, cpu_cores: 4, disk_gb: 0 },
      cuda: ">=12.4",
      warnings: [],
    } satisfies CozyConfig);
  });

  it("keeps models in file order and leaves out optional sections", () => {
    const config = parse(`${HEADER}[models]\nzeta = "o/z"\nalpha = "o/a"\n`);
    expect(Object.keys(config.models)).toEqual(["zeta", "alpha"]);
    expect(config.endpoints).toEqual({});
    expect(config.resources).toEqual({});
    expect(config).not.toHaveProperty("cuda");
  });

  it.each([
    ["string form defaults dtypes to fp32", 'm = "hf:o/r"', { ref: "hf:o/r", dtypes: ["fp32"] }],
    ["table form without dtypes", 'm = { ref = "hf:o/r" }', { ref: "hf:o/r", dtypes: ["fp32"] }],
    [
      "table dtypes kept in order, trimmed, blanks dropped",
      'm = { ref = "hf:o/r", dtypes = [" q4f16", "", "fp16 ", "int8"] }',
      { ref: "hf:o/r", dtypes: ["q4f16", "fp16", "int8"] },
    ],
    ["model keys trimmed", '" m " = " hf:o/r "', { ref: "hf:o/r", dtypes: ["fp32"] }],
    [
      "table form as a [models.m] table",
      '\n[models.m]\nref = "o/r"\nfiles = ["a.onnx"]',
      {
        ref: "o/r",
        dtypes: ["fp32"],
        files: ["a.onnx"],
      },
    ],
  ])("%s", (_, line, spec) => {
    expect(parse(`${HEADER}[models]\n${line}\n`).models).toEqual({ m: spec });
  });

  it.each([
    ["python-style comma range", ">=0.1.0,<0.2.0", "0.1.0"],
    ["comma range with spaces", ">=0.1.0, <0.2.0", "0.1.5"],
    ["caret range", "^0.1.0", "0.1.9"],
    ["prerelease of the installed package", "^0.1.0", "0.1.1-beta.1"],
    ["x-range", "0.x", "0.4.0"],
  ])("accepts gen_worker %s", (_, range, packageVersion) => {
    const text = HEADER.replace('">=0.1.0,<0.2.0"', JSON.stringify(range));
    expect(parse(text, packageVersion).genWorker).toBe(range);
  });

  it.each(["12.6", ">=12.4", ">=12.4,<13", "==12.6.1", "~=12.4"])("accepts cuda %j", (cuda) => {
    expect(parse(`${HEADER}[host.requirements]\ncuda = "${cuda}"\n`).cuda).toBe(cuda);
  });

  it.each(["src/main.ts", "./src/main.mts", "main.tsx", "dist/main.js", "src/main.mjs"])(
    "accepts main %j",
    (main) => {
      const config = parse(HEADER.replace('"src/main.ts"', JSON.stringify(main)));
      expect(config.main).toBe(main);
      expect(config.mainPath).toBe(resolve("/project", main));
    },
  );
});

describe("parseCozyConfig: problems", () => {
  it.each<[string, string, number | undefined, string[]]>([
    // [title, text, line, phrases]
    [
      "schema_version missing",
      HEADER.replace("schema_version = 1\n", ""),
      undefined,
      ["missing key schema_version: add schema_version = 1"],
    ],
    ["schema_version 2", HEADER.replace("= 1", "= 2"), 1, ["schema_version must be 1, found 2"]],
    ["schema_version float", HEADER.replace("= 1", "= 1.0"), 1, ["schema_version must be 1, found 1.0"]],
    ["schema_version string", HEADER.replace("= 1", '= "1"'), 1, ['schema_version must be 1, found "1"']],
    [
      "name missing",
      HEADER.replace('name = "my-worker"\n', ""),
      undefined,
      ['missing key name: add name = "my-worker"'],
    ],
    ["name blank", HEADER.replace('"my-worker"', '"  "'), 2, ["name cannot be empty"]],
    ["name without a slug", HEADER.replace('"my-worker"', '"!!!"'), 2, ['invalid name "!!!"', "slug"]],
    ["name not a string", HEADER.replace('"my-worker"', "5"), 2, ["name must be a string", "found 5"]],
    [
      "main missing",
      HEADER.replace('main = "src/main.ts"\n', ""),
      undefined,
      ['missing key main: add main = "src/main.ts"'],
    ],
    [
      "main as a Python module",
      HEADER.replace('"src/main.ts"', '"my_pkg.main"'),
      3,
      ['main "my_pkg.main"', 'main is a file path such as "src/main.ts", not a module name'],
    ],
    [
      "main absolute",
      HEADER.replace('"src/main.ts"', '"/abs/main.ts"'),
      3,
      ["is an absolute path", "relative"],
    ],
    [
      "main escaping the project",
      HEADER.replace('"src/main.ts"', '"../other/main.ts"'),
      3,
      ["points outside the project directory /project"],
    ],
    [
      "main with another extension",
      HEADER.replace('"src/main.ts"', '"src/main.py"'),
      3,
      ["must be a .ts, .mts, .tsx, .js or .mjs file, found a .py file"],
    ],
    ["main without extension", HEADER.replace('"src/main.ts"', '"src/main"'), 3, ["found no extension"]],
    [
      "gen_worker missing",
      HEADER.replace('gen_worker = ">=0.1.0,<0.2.0"\n', ""),
      undefined,
      ['missing key gen_worker: add gen_worker = "^0.1.0"'],
    ],
    [
      "gen_worker blank",
      HEADER.replace('">=0.1.0,<0.2.0"', '" "'),
      4,
      ["gen_worker constraint cannot be empty"],
    ],
    [
      "gen_worker invalid range",
      HEADER.replace('">=0.1.0,<0.2.0"', '"banana"'),
      4,
      ['gen_worker "banana" is not a valid version range', '"^0.1.0"'],
    ],
    [
      "gen_worker not including the installed version",
      HEADER.replace('">=0.1.0,<0.2.0"', '">=0.2.0,<0.3.0"'),
      4,
      [
        'gen_worker ">=0.2.0,<0.3.0" does not include the installed gen-worker 0.1.0',
        "npm install 'gen-worker@>=0.2.0 <0.3.0'",
        "widen the range",
      ],
    ],
    [
      "cuda with a bad clause",
      `${HEADER}[host.requirements]\ncuda = ">=12.4,<wat"\n`,
      6,
      ["invalid cuda constraint clause: '<wat'", 'cuda = ">=12.4"'],
    ],
    ["cuda blank", `${HEADER}[host.requirements]\ncuda = " , "\n`, 6, ["cuda constraint cannot be empty"]],
    [
      "cuda not a string",
      `${HEADER}[host.requirements]\ncuda = 12.6\n`,
      6,
      ["cuda must be a string", "found 12.6"],
    ],
    ["host not a table", `${HEADER}host = "gpu"\n`, 5, ['host must be a table, found "gpu"', "[host]"]],
    ["models not a table", `${HEADER}models = ["hf:o/r"]\n`, 5, ['models must be a table, found ["hf:o/r"]']],
    [
      "model spec of another type",
      `${HEADER}[models]\nsd = 5\n`,
      6,
      [
        "models.sd: model spec must be a string or a table {ref=..., dtypes=[...]}, found 5",
        'sd = "hf:owner/repo"',
      ],
    ],
    [
      "model spec without ref",
      `${HEADER}[models]\nflux = { dtypes = ["fp16"] }\n`,
      6,
      ["models.flux: model spec missing ref", 'add ref = "hf:owner/repo"'],
    ],
    [
      "invalid dtype",
      `${HEADER}[models]\n\nflux = { ref = "hf:o/r", dtypes = ["fp16", "fp9", "FP8"] }\n`,
      7,
      [
        'models.flux.dtypes: model spec has invalid dtypes: ["fp9","FP8"]',
        "(allowed: fp32, fp16, bf16, fp8, int8, uint8, int4, q4, q4f16, bnb4, quantized)",
      ],
    ],
    [
      "dtypes all blank",
      `${HEADER}[models]\nflux = { ref = "hf:o/r", dtypes = ["", " "] }\n`,
      6,
      ["models.flux.dtypes lists no dtypes", 'default ["fp32"]'],
    ],
    [
      "dtypes not a list",
      `${HEADER}[models]\nflux = { ref = "hf:o/r", dtypes = "fp16" }\n`,
      6,
      ['models.flux.dtypes must be a list of strings such as ["fp16"], found "fp16"'],
    ],
    [
      "dtypes with a number",
      `${HEADER}[models]\nflux = { ref = "hf:o/r", dtypes = ["fp16", 8] }\n`,
      6,
      ['must be a list of strings such as ["fp16"], found ["fp16", 8]'],
    ],
    [
      "files with an empty entry",
      `${HEADER}[models]\nflux = { ref = "hf:o/r", files = ["*.onnx", " "] }\n`,
      6,
      ["models.flux.files has an empty entry"],
    ],
    [
      "files not a list",
      `${HEADER}[models.flux]\nref = "hf:o/r"\nfiles = "*.onnx"\n`,
      7,
      ["models.flux.files must be a list"],
    ],
    [
      "unknown key in a model spec",
      `${HEADER}[models]\nflux = { ref = "hf:o/r", revison = "main" }\n`,
      6,
      ['models.flux has unknown keys "revison"', "takes only the keys ref, dtypes, files"],
    ],
    [
      "misspelt key in a model spec",
      `${HEADER}[models]\nflux = { ref = "hf:o/r", dtpyes = ["fp16"] }\n`,
      6,
      ['models.flux has unknown keys "dtpyes"', '(did you mean dtypes for "dtpyes"?)'],
    ],
    [
      "invalid hf ref",
      `${HEADER}[models]\nsd = "hf:gpt2"\n`,
      6,
      [`models.sd: hf ref "hf:gpt2" must be 'owner/repo'`, "hf:openai-community/gpt2"],
    ],
    [
      "invalid cozy digest in a [models.x] table",
      `${HEADER}[models.sd]\ndtypes = ["fp16"]\nref = "o/r@md5:00"\n`,
      7,
      ["models.sd.ref: cozy ref digest must use @sha256:<hex> or @blake3:<hex>"],
    ],
    [
      "ref not a string",
      `${HEADER}[models]\nsd = { ref = 1 }\n`,
      6,
      ["models.sd.ref must be a model ref string"],
    ],
    ["blank ref", `${HEADER}[models]\nsd = "  "\n`, 6, ["models.sd is an empty model ref"]],
    ["empty model key", `${HEADER}[models]\n"" = "hf:o/r"\n`, 6, ["[models] has an empty model key"]],
    [
      "model key twice once trimmed",
      `${HEADER}[models]\na = "hf:o/r"\n" a " = "hf:o/q"\n`,
      7,
      ['[models] defines model "a" twice'],
    ],
    [
      "endpoint key that is not its slug",
      `${HEADER}[endpoints.async_fn.models]\nm = "hf:o/r"\n`,
      5,
      ["[endpoints.async_fn] must be written [endpoints.async-fn]"],
    ],
    [
      "endpoint key with no slug",
      `${HEADER}[endpoints."!!"]\n`,
      5,
      ['[endpoints."!!"] is not a valid endpoint slug'],
    ],
    [
      "endpoint not a table",
      `${HEADER}[endpoints]\ngen = 1\n`,
      6,
      ["endpoints.gen must be a table, found 1"],
    ],
    [
      "endpoint models not a table",
      `${HEADER}[endpoints.gen]\nmodels = "hf:o/r"\n`,
      6,
      ["endpoints.gen.models must be a table"],
    ],
    [
      "bad endpoint model spec",
      `${HEADER}[endpoints.gen.models]\nsd = true\n`,
      6,
      ["endpoints.gen.models.sd: model spec must be a string or a table", "found true"],
    ],
    [
      "negative resource",
      `${HEADER}[resources]\nvram_gb = -1\n`,
      6,
      ["resources.vram_gb must be a non-negative number, found -1"],
    ],
    [
      "resource as a string",
      `${HEADER}[resources]\nram_gb = "16"\n`,
      6,
      ['resources.ram_gb must be a non-negative number, found "16"'],
    ],
    ["infinite resource", `${HEADER}[resources]\ndisk_gb = inf\n`, 6, ["found Infinity"]],
  ])("%s", (_, text, line, phrases) => {
    const problems = problemsOf(() => parse(text));
    expect(problems).toHaveLength(1);
    const [problem] = problems;
    expect(problem?.file).toBe(FILE);
    expect(problem?.line).toBe(line);
    for (const phrase of phrases) expect(problem?.message).toContain(phrase);
  });

  it("points at the column of the key", () => {
    const [problem] = problemsOf(() => parse(`${HEADER}[endpoints.async_fn.models]\nm = "hf:o/r"\n`));
    expect(problem).toMatchObject({ line: 5, column: 12 });
  });

  it("reports TOML syntax errors with their line and column", () => {
    const problems = problemsOf(() => parse(`${HEADER}[models]\nsd = \n`));
    expect(problems).toEqual([
      {
        file: FILE,
        line: 6,
        column: 6,
        message: expect.stringContaining("not valid TOML: invalid value"),
      },
    ]);
    expect(problems[0]?.message).not.toContain("\n");
  });

  it("rejects keys that could reach the prototype", () => {
    const [problem] = problemsOf(() => parse(`${HEADER}[models]\n__proto__ = "hf:o/r"\n`));
    expect(problem?.line).toBe(6);
    expect(problem?.message).toContain("not valid TOML");
  });

  it("reports every problem at once", () => {
    const text = `schema_version = 2
main = "src/main.ts"
gen_worker = "^0.1.0"
[models]
a = { ref = "hf:o/r", dtypes = ["fp9"] }
b = "hf:nope"
[endpoints.my_ep.models]
c = 3
`;
    const error = (() => {
      try {
        parse(text);
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((problem) => [problem.line, problem.message.split(":")[0]])).toEqual([
      [1, "schema_version must be 1, found 2"],
      [undefined, "missing key name"],
      [5, "models.a.dtypes"],
      [6, "models.b"],
      [7, "[endpoints.my_ep] must be written [endpoints.my-ep]"],
      [8, "endpoints.my_ep.models.c"],
    ]);
    expect((error as ConfigError).message.split("\n")).toHaveLength(problems.length);
  });
});

describe("parseCozyConfig: a missing required key", () => {
  const missingMain = HEADER.replace('main = "src/main.ts"\n', "");
  it.each<[string, string, ConfigProblem]>([
    [
      "points at a misspelling of it",
      HEADER.replace("main =", "mian ="),
      {
        file: FILE,
        line: 3,
        column: 1,
        message: "missing key main: mian is not a known key; did you mean main? rename it to main",
      },
    ],
    [
      "points at a misspelling in another case or with '-'",
      HEADER.replace("gen_worker =", "Gen-Worker ="),
      {
        file: FILE,
        line: 4,
        column: 1,
        message:
          "missing key gen_worker: Gen-Worker is not a known key; did you mean gen_worker? rename it to gen_worker",
      },
    ],
    [
      "points at it below a table header",
      `${missingMain}[resources]\nram_gb = 8\nmain = "src/main.ts"\n`,
      {
        file: FILE,
        line: 6,
        column: 1,
        message:
          "missing key main: it is written below [resources], which makes it resources.main: move main = ... above the first [table] header",
      },
    ],
    [
      "names the key when nothing is close to it",
      `${missingMain}entry = "src/main.ts"\n`,
      { file: FILE, message: 'missing key main: add main = "src/main.ts"' },
    ],
  ])("%s", (_, text, expected) => {
    expect(problemsOf(() => parse(text))).toEqual([expected]);
  });

  it("is printed with the file name once", () => {
    for (const text of [HEADER.replace("main =", "mian ="), HEADER.replace('name = "my-worker"\n', "")]) {
      const [problem] = problemsOf(() => parse(text));
      expect(problem && formatProblem(problem).split("cozy.toml")).toHaveLength(2);
    }
  });
});

describe("parseCozyConfig: warnings", () => {
  it.each<[string, string, number, string[]]>([
    [
      "unknown top-level key",
      `${HEADER}nmae = "x"\n`,
      5,
      ["nmae is not a known key and is ignored", "gen_worker"],
    ],
    [
      "unknown top-level table",
      `${HEADER}[resource]\nvram_gb = 8\n`,
      5,
      ["resource is not a known key", "did you mean resources?"],
    ],
    [
      "unknown resource",
      `${HEADER}[resources]\nvram_gb = 8\ngpus = 2\n`,
      7,
      [
        "resources.gpus is not a known key and is ignored: check its spelling",
        "known keys in [resources]: vram_gb, ram_gb, cpu_cores, disk_gb",
      ],
    ],
    [
      "unknown host requirement",
      `${HEADER}[host.requirements]\ncudnn = "9"\n`,
      6,
      ["host.requirements.cudnn is not a known key"],
    ],
    [
      "misspelt resource",
      `${HEADER}[resources]\nram_gbs = 8\n`,
      6,
      ["resources.ram_gbs is not a known key and is ignored: did you mean ram_gb?"],
    ],
    [
      "resource key cut short",
      `${HEADER}[resources]\nvram = 8\n`,
      6,
      ["resources.vram is not a known key and is ignored: did you mean vram_gb?"],
    ],
    ["unknown key under host", `${HEADER}[host]\nos = "linux"\n`, 6, ["host.os is not a known key"]],
    [
      "unknown endpoint key",
      `${HEADER}[endpoints.gen]\nmodel = { ref = "hf:o/r" }\n`,
      6,
      ["endpoints.gen.model is not a known key", "known keys in [endpoints.gen]: models"],
    ],
  ])("%s", (_, text, line, phrases) => {
    const { warnings } = parse(text);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.line).toBe(line);
    for (const phrase of phrases) expect(warnings[0]?.message).toContain(phrase);
  });

  it("are not prefixed with the file name, which is printed before them", () => {
    const [warning] = parse(`${HEADER}[resource]\nvram_gb = 8\n`).warnings;
    expect(warning && formatProblem(warning)).toBe(
      "/project/cozy.toml:5:2: resource is not a known key and is ignored: did you mean resources? (known keys: schema_version, name, main, gen_worker, host, models, endpoints, resources)",
    );
  });

  it("drops ignored resources", () => {
    expect(parse(`${HEADER}[resources]\nvram_gb = 8\ngpus = 2\n`).resources).toEqual({ vram_gb: 8 });
  });
});

describe("formatProblem", () => {
  const inside = join(process.cwd(), "examples", "cozy.toml");
  it.each<[ConfigProblem, string]>([
    [{ file: inside, line: 3, column: 7, message: "m" }, `${join("examples", "cozy.toml")}:3:7: m`],
    [{ file: inside, line: 3, message: "m" }, `${join("examples", "cozy.toml")}:3: m`],
    [{ file: inside, message: "m" }, `${join("examples", "cozy.toml")}: m`],
    [{ file: "/elsewhere/cozy.toml", line: 1, column: 1, message: "m" }, "/elsewhere/cozy.toml:1:1: m"],
  ])("formats %j", (problem, expected) => {
    expect(formatProblem(problem)).toBe(expected);
  });
});

describe("loadCozyConfig", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "cozy-toml-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeProject(main: string, files: string[]): Promise<void> {
    await writeFile(join(dir, "cozy.toml"), HEADER.replace('"src/main.ts"', JSON.stringify(main)));
    for (const file of files) {
      await mkdir(join(dir, file, ".."), { recursive: true });
      await writeFile(join(dir, file), "export {};\n");
    }
  }

  it("loads a project whose main exists", async () => {
    await writeProject("src/main.ts", ["src/main.ts"]);
    const config = await loadCozyConfig(dir, OPTIONS);
    expect(config.file).toBe(join(dir, "cozy.toml"));
    expect(config.mainPath).toBe(join(dir, "src", "main.ts"));
  });

  it("reports a main file that does not exist, at the line of main", async () => {
    await writeProject("src/mian.ts", ["src/main.ts"]);
    const problems = await problemsOfAsync(() => loadCozyConfig(dir, OPTIONS));
    expect(problems).toEqual([
      {
        file: join(dir, "cozy.toml"),
        line: 3,
        column: 1,
        message: `main: "src/mian.ts" does not exist in ${dir}: create it or fix the path`,
      },
    ]);
  });

  it("reports a main that is a directory", async () => {
    await writeProject("src/main.ts", ["src/main.ts/index.ts"]);
    const [problem] = await problemsOfAsync(() => loadCozyConfig(dir, OPTIONS));
    expect(problem?.message).toContain('"src/main.ts" is not a file');
  });

  it("reports a missing cozy.toml", async () => {
    const problems = await problemsOfAsync(() => loadCozyConfig(dir, OPTIONS));
    expect(problems).toEqual([
      {
        file: join(dir, "cozy.toml"),
        message: `not found in ${dir}: create one (see examples/hello/cozy.toml) or run cozy-worker init`,
      },
    ]);
  });

  it("reports a project directory that does not exist", async () => {
    const missing = join(dir, "nope");
    const [problem] = await problemsOfAsync(() => loadCozyConfig(missing, OPTIONS));
    expect(problem?.message).toBe(
      `project directory ${missing} does not exist: pass the directory that holds cozy.toml`,
    );
  });

  it("reports a project path that is a file", async () => {
    const file = join(dir, "file.txt");
    await writeFile(file, "");
    const [problem] = await problemsOfAsync(() => loadCozyConfig(file, OPTIONS));
    expect(problem?.message).toContain(`${file} is not a directory`);
  });

  it("validates the text before looking for main", async () => {
    await writeFile(join(dir, "cozy.toml"), "schema_version = 1\n");
    const problems = await problemsOfAsync(() => loadCozyConfig(dir, OPTIONS));
    expect(problems.map((problem) => problem.message.split(":")[0])).toEqual([
      "missing key name",
      "missing key main",
      "missing key gen_worker",
    ]);
  });
});

describe("locateKey", () => {
  it.each<[string, string, string[], string, { line: number; column: number } | undefined]>([
    ["a root key", "a = 1\nb = 2", [], "b", { line: 2, column: 1 }],
    ["an indented key", "a = 1\n   b = 2", [], "b", { line: 2, column: 4 }],
    ["a table header", "# c\n\n[models]\nx = 1", [], "models", { line: 3, column: 2 }],
    ["a key under a header", "[models]\nx = 1\n[other]\ny = 1", ["other"], "y", { line: 4, column: 1 }],
    ["the same key in another table", "[a]\nk = 1\n[b]\nk = 2", ["b"], "k", { line: 4, column: 1 }],
    ["a header part", "[endpoints.my-ep.models]", ["endpoints"], "my-ep", { line: 1, column: 12 }],
    ["a spaced header", '[ endpoints . "my ep" ]', ["endpoints"], "my ep", { line: 1, column: 15 }],
    ["a dotted key", 'host.requirements.cuda = "1"', ["host"], "requirements", { line: 1, column: 6 }],
    [
      "a dotted key under a header",
      "[host]\nrequirements.cuda = 1",
      ["host", "requirements"],
      "cuda",
      {
        line: 2,
        column: 14,
      },
    ],
    ["a quoted key", '"my key" = 1', [], "my key", { line: 1, column: 1 }],
    ["a literal key", "'c:\\d' = 1", [], "c:\\d", { line: 1, column: 1 }],
    ["an escaped key", '"\\u0041b" = 1', [], "Ab", { line: 1, column: 1 }],
    ["a key inside an inline table", 'x = 0\nk = { ref = "o/r" }', ["k"], "ref", { line: 2, column: 1 }],
    ["a key inside a sub-table", "[models.sd]\nref = 1", ["models", "sd"], "ref", { line: 2, column: 1 }],
    ["an array of tables", "[[a.b]]\nc = 1", ["a", "b"], "c", { line: 2, column: 1 }],
    [
      "after a multi-line array",
      "files = [\n  \"x = 1\",\n  # y = 2\n  '[z]',\n]\ny = 3",
      [],
      "y",
      {
        line: 6,
        column: 1,
      },
    ],
    [
      "after a multi-line string",
      's = """\n[fake]\ny = 2 \\"""\n"""\ny = 3',
      [],
      "y",
      { line: 5, column: 1 },
    ],
    ["after a literal multi-line string", "s = '''\ny = 2\n'''''\ny = 3", [], "y", { line: 4, column: 1 }],
    ["inside a multi-line string", 's = """\n[fake]\n"""', [], "fake", undefined],
    ["in a comment", "# k = 1\nj = 2", [], "k", undefined],
    ["a missing key", "a = 1", [], "b", undefined],
    ["a key of a header that is a prefix only", "[models]\n", ["models"], "sd", undefined],
  ])("finds %s", (_, source, tablePath, key, expected) => {
    expect(locateKey(source, tablePath, key)).toEqual(expected);
  });
});
