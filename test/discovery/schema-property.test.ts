/**
 * Property tests of the JSON Schemas that discovery generates: for every payload (and output or
 * delta) type of every fixture project and examples/hello, ajv in strict mode compiles the schema
 * and accepts exactly the values the TypeScript type admits.
 *
 * Values come from an oracle built from the TypeScript type itself (test/support/type-arbitrary.ts),
 * never from the generated schema; a sample of them is checked with the TypeScript checker
 * (test/support/ts-cross-check.ts) to show that the oracle matches the type.
 *
 * More project folders can be added for a run with SCHEMA_PROPERTY_PROJECTS=dir1:dir2.
 */
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { ValidateFunction } from "ajv";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { ManifestFunction } from "../../src/contract/manifest.js";
import { discover } from "../../src/discovery/discover.js";
import { createTenantProgram } from "../../src/discovery/program.js";
import { createAjv } from "../../src/util/ajv.js";
import { type LiteralCase, type TypeRole, typeCheckLiterals } from "../support/ts-cross-check.js";
import {
  admits,
  buildTypeModel,
  describeNode,
  handlerTypes,
  invalidValues,
  type MutationCategory,
  type TypeNode,
  validValues,
  withDefaults,
} from "../support/type-arbitrary.js";

/** fast-check runs per schema, for valid values and again for mutated ones. */
const RUNS = 200;
/** Valid values (and at least as many mutations) per type checked by the TypeScript checker. */
const TS_SAMPLE = 25;
/** The mutation categories the TypeScript checker can judge (bounds are JSDoc-only). */
const TS_CHECKABLE: MutationCategory[] = ["wrong-kind", "missing-required", "not-a-member"];

const repo = fileURLToPath(new URL("../..", import.meta.url));
const fixturesDir = join(repo, "test", "fixtures");

function projectDirs(): string[] {
  const fixtures = existsSync(fixturesDir)
    ? readdirSync(fixturesDir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && existsSync(join(fixturesDir, entry.name, "expected.json")))
        .map((entry) => join(fixturesDir, entry.name))
        .sort()
    : [];
  const extra = (process.env.SCHEMA_PROPERTY_PROJECTS ?? "").split(":").filter(Boolean);
  return [...fixtures, join(repo, "examples", "hello"), ...extra];
}

interface Subject {
  label: string;
  exportName: string;
  role: TypeRole;
  schema: Record<string, unknown>;
  /** The oracle's model of the TypeScript type, or why it could not be built. */
  model: { node: TypeNode } | { error: unknown };
}

interface PreparedProject {
  name: string;
  dir: string;
  mainPath: string;
  project: ReturnType<typeof createTenantProgram>["project"];
  subjects: Subject[];
}

async function prepare(dir: string): Promise<PreparedProject> {
  const { manifest } = await discover(dir);
  const mainPath = join(dir, manifest.runtime.main);
  const { project, entry } = createTenantProgram(mainPath);
  const program = project.getProgram().compilerObject;
  const checker = program.getTypeChecker();
  const subjects: Subject[] = [];
  const model = (read: () => TypeNode): Subject["model"] => {
    try {
      return { node: read() };
    } catch (error) {
      return { error };
    }
  };
  for (const fn of manifest.functions) {
    let payload: Subject["model"];
    let output: Subject["model"];
    try {
      const found = handlerTypes(entry, checker, fn.export);
      payload = model(() => buildTypeModel(found.payload, checker, program));
      const result = found.output;
      output = result
        ? model(() => buildTypeModel(result.type, checker, program))
        : { error: new Error(`the oracle found no output type for ${fn.export}`) };
    } catch (error) {
      payload = { error };
      output = { error };
    }
    subjects.push(subject(fn, "payload", fn.input_schema, payload));
    const outputRole: TypeRole = fn.output_mode === "incremental" ? "delta" : "output";
    subjects.push(subject(fn, outputRole, fn.output_schema, output));
  }
  return { name: manifest.project_name, dir, mainPath, project, subjects };
}

function subject(
  fn: ManifestFunction,
  role: TypeRole,
  schema: Record<string, unknown>,
  model: Subject["model"],
): Subject {
  const schemaName = role === "payload" ? "input_schema" : "output_schema";
  return { label: `${fn.name} ${schemaName} (${role})`, exportName: fn.export, role, schema, model };
}

function nodeOf(subject: Subject): TypeNode {
  if ("error" in subject.model) throw subject.model.error;
  return subject.model.node;
}

const validators = new Map<Subject, ValidateFunction>();

/** The runtime's validator: ajv in strict mode. */
function strictValidatorOf(subject: Subject): ValidateFunction {
  let validate = validators.get(subject);
  if (!validate) {
    validate = createAjv().compile(subject.schema);
    validators.set(subject, validate);
  }
  return validate;
}

/**
 * The strict validator or, when the schema does not compile in strict mode (which its own test
 * reports), a lenient one, so that the value tests still show what the schema means.
 */
function validatorOf(subject: Subject): { validate: ValidateFunction; note: string } {
  try {
    return { validate: strictValidatorOf(subject), note: "" };
  } catch (error) {
    const validate = createAjv({ strict: false }).compile(subject.schema);
    return { validate, note: ` [lenient ajv: strict mode refuses the schema: ${(error as Error).message}]` };
  }
}

const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
const show = (value: unknown) => {
  const text = JSON.stringify(value);
  return text.length > 600 ? `${text.slice(0, 600)}...` : text;
};

/** What was checked, for the summary printed at the end. */
const tally = new Map<string, Record<string, number>>();
function count(label: string, what: string): void {
  const row = tally.get(label) ?? {};
  row[what] = (row[what] ?? 0) + 1;
  tally.set(label, row);
}

const projects = await Promise.all(
  projectDirs().map(async (dir) => {
    try {
      return { name: relative(repo, dir) || dir, prepared: await prepare(dir) };
    } catch (error) {
      return { name: relative(repo, dir) || dir, error };
    }
  }),
);

afterAll(() => {
  const lines = [...tally].map(
    ([label, counts]) =>
      `  ${label}: ${Object.entries(counts)
        .map(([what, n]) => `${what} ${n}`)
        .join(", ")}`,
  );
  console.info(`values checked per type:\n${lines.join("\n")}`);
});

describe.each(projects)("$name", (entry) => {
  if (!("prepared" in entry) || !entry.prepared) {
    it("discovers the project", () => {
      throw entry.error;
    });
    return;
  }
  const prepared = entry.prepared;

  describe.each(prepared.subjects.map((s) => ({ name: s.label, subject: s })))("$name", ({ subject }) => {
    const label = `${prepared.name}/${subject.label}`;

    it("compiles with ajv in strict mode", () => {
      expect(() => strictValidatorOf(subject)).not.toThrow();
    });

    it(`accepts ${RUNS} values the TypeScript type admits`, () => {
      const node = nodeOf(subject);
      const { validate, note } = validatorOf(subject);
      fc.assert(
        fc.property(validValues(node), (value) => {
          const wire = asJson(value);
          if (!admits(node, wire)) {
            throw new Error(`oracle bug: generated ${show(wire)}, which it does not admit`);
          }
          count(label, "valid");
          if (!validate(wire)) {
            throw new Error(
              `ajv rejected a value of type ${describeNode(node)}${note}: ${show(wire)}\n${createAjv().errorsText(validate.errors)}`,
            );
          }
        }),
        { numRuns: RUNS },
      );
    });

    it(`rejects ${RUNS} values the TypeScript type does not admit`, () => {
      const node = nodeOf(subject);
      const { validate, note } = validatorOf(subject);
      fc.assert(
        fc.property(invalidValues(node), ({ mutation, value }) => {
          const wire = asJson(value);
          count(label, mutation.category);
          if (validate(wire)) {
            throw new Error(`ajv accepted an invalid value${note}: ${mutation.reason}\nvalue: ${show(wire)}`);
          }
        }),
        { numRuns: RUNS },
      );
    });
  });

  it("TypeScript agrees with the oracle on a sample of each type", () => {
    const cases: (LiteralCase & { expectError: boolean; why: string; label: string })[] = [];
    for (const subject of prepared.subjects) {
      const node = nodeOf(subject);
      const base = { exportName: subject.exportName, role: subject.role, label: subject.label };
      for (const value of fc.sample(validValues(node), TS_SAMPLE)) {
        cases.push({ ...base, value: withDefaults(node, asJson(value)), expectError: false, why: "valid" });
      }
      const mutated = fc
        .sample(invalidValues(node), TS_SAMPLE * 4)
        .filter(({ mutation }) => TS_CHECKABLE.includes(mutation.category))
        .slice(0, TS_SAMPLE);
      expect(mutated.length, `${subject.label}: TypeScript-checkable mutations`).toBeGreaterThan(0);
      for (const { mutation, value } of mutated) {
        cases.push({
          ...base,
          value: withDefaults(node, asJson(value)),
          expectError: true,
          why: mutation.reason,
        });
      }
    }
    const disagreements = typeCheckLiterals(prepared.project, prepared.mainPath, cases)
      .map((result, index) => ({ result, literal: cases[index] }))
      .filter(({ result, literal }) => literal && result.errors.length > 0 !== literal.expectError)
      .map(({ result, literal }) =>
        literal?.expectError
          ? `${literal.label}: TypeScript accepts a value the oracle calls invalid (${literal.why}): ${show(literal.value)}`
          : `${literal?.label}: TypeScript rejects a value the oracle generated: ${show(literal?.value)}\n  ${result.errors.join("\n  ")}`,
      );
    for (const literal of cases) {
      count(`${prepared.name}/${literal.label}`, literal.expectError ? "ts-invalid" : "ts-valid");
    }
    expect(disagreements).toEqual([]);
  });
});
