/**
 * Schema-derived fuzzing: each endpoint gets payloads generated from its input schema, run through
 * the test kit; an `internal` failure, an output that breaks the declared type, a run past its
 * timeout or an uncaught error is a finding, reported with the smallest payload (fast-check
 * shrinking) that still causes it. Failures the handler raises on purpose (ValidationError and the
 * other error classes) are not findings.
 */
import fc from "fast-check";
import type { ManifestFunction } from "../contract/manifest.js";
import { UserError } from "../contract/user-errors.js";
import { createAjv } from "../util/ajv.js";
import { CrashWatch } from "./crash-watch.js";
import type { TestKit } from "./kit.js";
import { replaceBytes } from "./payload-files.js";
import { schemaArbitrary, UnsupportedSchemaError } from "./schema-arbitrary.js";
import type { RunError, RunOutcome } from "./types.js";

export interface FuzzOptions {
  /** Payloads per endpoint; default 100. */
  runs?: number;
  /** fast-check's seed; random by default. The report always carries it: pass it to reproduce. */
  seed?: number;
  /** Each run's timeout in ms; a run past it is a finding. Default 5000. */
  timeoutMs?: number;
  /** Time spent shrinking a finding, at most, in ms; default 60000. */
  shrinkTimeMs?: number;
  /** Endpoints to fuzz (function names or slugs); default all. */
  endpoints?: readonly string[];
  /** Called as each endpoint is done. */
  onResult?: (result: EndpointFuzzResult) => void;
  /** Called before each run with what it sends, and with undefined once it ended. */
  onAttempt?: (attempt: FuzzAttempt | undefined) => void;
}

/** A payload about to run. */
export interface FuzzAttempt {
  endpoint: string;
  payload: unknown;
  files: Record<string, Uint8Array>;
}

/** What went wrong: a crash (uncaught), an `internal` failure, output that breaks its type, a hang. */
export type FindingKind = "internal" | "invalid-output" | "timeout" | "crash";

export interface FuzzFinding {
  kind: FindingKind;
  /** The shrunk payload as sent (Asset fields as `{ref}`). */
  payload: unknown;
  /** The generated input files the payload names, by ref. */
  files: Record<string, Uint8Array>;
  /** The run's error; for a crash, the uncaught error. `stack` is the handler's, when it threw. */
  error: RunError;
  /** The payload number (from 1) that failed first, and the shrinking steps that made it smaller. */
  failedAt: number;
  shrinks: number;
  /** The shrunk payload failed the same way when run once more. */
  reproduced: boolean;
  /** Shrinking stopped at `shrinkTimeMs`: a smaller payload may fail too. */
  shrinkingCut: boolean;
}

export interface EndpointFuzzResult {
  endpoint: string;
  /** Payloads run before the finding (all of them without one). */
  runs: number;
  /** Runs the handler failed on purpose (a ValidationError and the like). */
  refused: number;
  /** The first of those failures' `errorMessage`, to tell a real refusal from a misconfiguration. */
  firstRefusal?: string;
  /** Generated payloads the schema rejects, not run (where the generator cannot meet a constraint). */
  skipped: number;
  finding?: FuzzFinding;
  /** Why the endpoint was not fuzzed. */
  notFuzzed?: string;
}

export interface FuzzReport {
  seed: number;
  runs: number;
  timeoutMs: number;
  endpoints: EndpointFuzzResult[];
  /** No finding, and every endpoint was fuzzed. */
  ok: boolean;
}

const OUTPUT_CHECK = /does not match its declared type|is not JSON data|not an iterable/;

/** Fuzzes the kit's endpoints one after another; never runs two payloads at once. */
export async function fuzz(kit: TestKit, options: FuzzOptions = {}): Promise<FuzzReport> {
  const settings = {
    runs: options.runs ?? 100,
    seed: options.seed ?? randomSeed(),
    timeoutMs: options.timeoutMs ?? 5000,
    shrinkTimeMs: options.shrinkTimeMs ?? 60_000,
  };
  if (!Number.isInteger(settings.runs) || settings.runs < 1) {
    throw new UserError(`runs must be a whole number of 1 or more, not ${settings.runs}`);
  }
  const functions = (options.endpoints ?? kit.endpoints).map((name) => kit.describe(name));
  const assets = await assetValues(kit);
  const crashes = new CrashWatch();
  crashes.start();
  const endpoints: EndpointFuzzResult[] = [];
  const onAttempt = options.onAttempt ?? (() => {});
  try {
    for (const fn of functions) {
      const result = await fuzzEndpoint(kit, fn, { ...settings, assets, crashes, onAttempt });
      endpoints.push(result);
      options.onResult?.(result);
    }
  } finally {
    crashes.stop();
  }
  const ok = endpoints.every((result) => !result.finding && !result.notFuzzed);
  return { seed: settings.seed, runs: settings.runs, timeoutMs: settings.timeoutMs, endpoints, ok };
}

interface EndpointSettings {
  runs: number;
  seed: number;
  timeoutMs: number;
  shrinkTimeMs: number;
  assets: fc.Arbitrary<unknown>;
  crashes: CrashWatch;
  onAttempt: (attempt: FuzzAttempt | undefined) => void;
}

interface Attempt {
  payload: unknown;
  files: Record<string, Uint8Array>;
  kind: FindingKind | undefined;
  error: RunError | undefined;
}

async function fuzzEndpoint(kit: TestKit, fn: ManifestFunction, settings: EndpointSettings) {
  const result: EndpointFuzzResult = { endpoint: fn.name, runs: 0, refused: 0, skipped: 0 };
  let values: fc.Arbitrary<unknown>;
  try {
    values = schemaArbitrary(fn.input_schema, {
      asset: settings.assets,
      rootProperties: modelKeyFields(kit, fn),
    });
  } catch (error) {
    if (!(error instanceof UnsupportedSchemaError)) throw error;
    result.notFuzzed = `its input schema has ${error.message}, which the fuzzer cannot generate`;
    return result;
  }
  const valid = createAjv({ strict: false }).compile(fn.input_schema);
  const attempt = async (value: unknown): Promise<Attempt> => {
    const files: Record<string, Uint8Array> = {};
    const payload = replaceBytes(value, (ref, bytes) => {
      files[ref] = bytes;
      kit.addFile(ref, bytes);
    });
    settings.crashes.take();
    settings.onAttempt({ endpoint: fn.name, payload, files });
    const outcome = await kit.run(fn.name, payload, { timeoutMs: settings.timeoutMs }).finally(() => {
      settings.onAttempt(undefined);
    });
    // An error thrown from a timer (or a promise) the handler left behind surfaces a turn later:
    // timers set during the run fire before this one.
    await new Promise((done) => setTimeout(done, 1));
    await new Promise((done) => setImmediate(done));
    const crash = settings.crashes.take();
    return { payload, files, ...judge(outcome, crash) };
  };

  let misuse: unknown;
  let last: Attempt | undefined;
  let shrinkDeadline: number | undefined;
  let shrinkingCut = false;
  const property = fc.asyncProperty(values, async (value) => {
    if (misuse !== undefined) return true;
    if (shrinkDeadline !== undefined && Date.now() > shrinkDeadline) {
      shrinkingCut = true;
      return true;
    }
    const sent = replaceBytes(value, () => {});
    if (!valid(sent)) {
      if (shrinkDeadline === undefined) result.skipped++;
      fc.pre(false);
    }
    let outcome: Attempt;
    try {
      outcome = await attempt(value);
    } catch (error) {
      // The kit refused the run (a model it was not given): not the handler's fault.
      misuse = error;
      return true;
    }
    if (!outcome.kind) {
      if (shrinkDeadline === undefined && outcome.error) {
        result.refused++;
        result.firstRefusal ??= outcome.error.errorMessage;
      }
      return true;
    }
    last = outcome;
    shrinkDeadline ??= Date.now() + settings.shrinkTimeMs;
    return false;
  });
  const details = await fc.check(property, { numRuns: settings.runs, seed: settings.seed, verbose: 0 });
  if (misuse !== undefined) {
    result.notFuzzed = misuse instanceof Error ? misuse.message : String(misuse);
    return result;
  }
  result.runs = details.failed ? details.numRuns : settings.runs;
  if (!details.failed) return result;
  const found = last;
  if (!found?.kind || !found.error) {
    if (details.numSkips === 0 && details.errorInstance) throw details.errorInstance;
    result.notFuzzed = `the fuzzer could not generate payloads that its input schema accepts (${result.skipped} rejected): simplify the constraints (a @pattern with @maxLength, say)`;
    return result;
  }
  const again = await attempt(details.counterexample?.[0]).catch(() => undefined);
  result.finding = {
    kind: found.kind,
    payload: found.payload,
    files: found.files,
    error: found.error,
    failedAt: details.numRuns,
    shrinks: details.numShrinks,
    reproduced: again?.kind === found.kind,
    shrinkingCut,
  };
  return result;
}

function judge(outcome: RunOutcome, crash: unknown): Pick<Attempt, "kind" | "error"> {
  if (crash !== undefined) {
    const error = crash instanceof Error ? crash : new Error(String(crash));
    return {
      kind: "crash",
      error: {
        errorType: "internal",
        retryable: false,
        safeMessage: "internal error",
        errorMessage: `uncaught ${error.name}: ${error.message}`,
        ...(error.stack ? { stack: error.stack } : {}),
      },
    };
  }
  const { error } = outcome;
  if (outcome.timedOut) return { kind: "timeout", error };
  if (error?.errorType !== "internal") return { kind: undefined, error };
  const kind =
    error.stack === undefined && OUTPUT_CHECK.test(error.errorMessage) ? "invalid-output" : "internal";
  return { kind, error };
}

/** Asset fields: the files the kit serves, if any; else small generated files (bytes). */
async function assetValues(kit: TestKit): Promise<fc.Arbitrary<unknown>> {
  const served = await kit.inputFiles();
  if (served.length > 0) return fc.constantFrom(...served).map((ref) => ({ ref }));
  return fc.uint8Array({ maxLength: 64 });
}

/** `PayloadModel` fields hold a model key: only the keyspace's keys are worth sending. */
function modelKeyFields(kit: TestKit, fn: ManifestFunction): Record<string, fc.Arbitrary<unknown>> {
  const keys = Object.keys(kit.manifest.models_by_function?.[fn.name] ?? {}).sort();
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  if (keys.length === 0) return fields;
  for (const { field } of fn.payload_repo_selectors) fields[field] = fc.constantFrom(...keys);
  return fields;
}

function randomSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
