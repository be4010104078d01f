import { afterEach, describe, expect, it } from "vitest";
import {
  cleanUp,
  executions,
  holdsWithin,
  plannedRun,
  type Rig,
  seededRandom,
  sleep,
  startRig,
  workerLog,
} from "./harness.js";
import type { HeaderMode, PlannedRun } from "./scheduler-process.js";

afterEach(cleanUp);

const RUNS = 200;
/** Runs are dispatched over this window, starting when the worker first registers. */
const DISPATCH_MS = 40_000;
const RUN_MS = { min: 500, max: 2_000 };
/** Sum of all scheduler outages, so that the test stays short. */
const OUTAGE_BUDGET_MS = 15_000;
const MAX_OUTAGE_MS = 10_000;
/** After the last dispatch and the last fault: time for the last runs to finish and report. */
const SETTLE_MS = 15_000;

type Fault =
  | { kind: "kill"; outageMs: number; headers: HeaderMode }
  | { kind: "reset" }
  | { kind: "black-hole"; ms: number }
  | { kind: "delay"; chunkMs: number; forMs: number };

interface Step {
  gapMs: number;
  fault: Fault;
}

function plan(random: () => number, epoch: number): PlannedRun[] {
  return Array.from({ length: RUNS }, (_, index) => {
    const ms = Math.round(RUN_MS.min + random() * (RUN_MS.max - RUN_MS.min));
    return plannedRun(`chaos-${index}`, ms, epoch + Math.round(random() * DISPATCH_MS));
  }).sort((a, b) => a.at - b.at);
}

const FAULT_KINDS: readonly Fault["kind"][] = [
  "kill",
  "kill",
  "kill",
  "reset",
  "reset",
  "reset",
  "black-hole",
  "delay",
  "delay",
];

/** Three scheduler kills, three resets, a black-hole and two delay spells, in a seeded order. */
function faultSchedule(random: () => number): Step[] {
  const budget = { outageMs: OUTAGE_BUDGET_MS };
  return shuffle(FAULT_KINDS, random).map((kind) => ({
    gapMs: Math.round(1_500 + random() * 2_000),
    fault: drawFault(kind, random, budget),
  }));
}

function drawFault(kind: Fault["kind"], random: () => number, budget: { outageMs: number }): Fault {
  switch (kind) {
    case "kill": {
      const outageMs = Math.round(Math.min(random() * MAX_OUTAGE_MS, budget.outageMs));
      budget.outageMs -= outageMs;
      return { kind, outageMs, headers: random() < 0.5 ? "eager" : "lazy" };
    }
    case "black-hole":
      return { kind, ms: Math.round(500 + random() * 2_000) };
    case "delay":
      return { kind, chunkMs: Math.round(20 + random() * 300), forMs: 3_000 };
    default:
      return { kind: "reset" };
  }
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const shuffled = [...items];
  for (let index = shuffled.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [shuffled[index], shuffled[other]] = [shuffled[other] as T, shuffled[index] as T];
  }
  return shuffled;
}

async function inject(rig: Rig, fault: Fault): Promise<void> {
  switch (fault.kind) {
    case "kill":
      await rig.scheduler.kill();
      await sleep(fault.outageMs);
      await rig.scheduler.start(fault.headers);
      return;
    case "reset":
      rig.proxy.reset();
      return;
    case "black-hole":
      rig.proxy.blackHole(fault.ms);
      await sleep(fault.ms);
      return;
    case "delay":
      rig.proxy.setDelay(fault.chunkMs);
      await sleep(fault.forMs);
      rig.proxy.setDelay(0);
      return;
  }
}

interface Report {
  executed: number;
  /** Executed runs whose result never reached any scheduler instance. */
  lost: string[];
  /** Successful results of runs the handler never executed. */
  phantom: string[];
  /** Runs the handler executed more than once. */
  executedTwice: string[];
  /** Results that arrived more than once (allowed, but worth knowing), and how many of those on one stream. */
  duplicateResults: number;
  duplicatesOnOneStream: number;
  /** Runs the scheduler sent more than once: a broken harness, never the worker's fault. */
  resent: string[];
  failedResults: { run_id: string; error_type: string }[];
}

function report(rig: Rig): Report {
  const { runs, duplicated } = executions(rig.recordDir);
  const results = rig.scheduler.results();
  const delivered = new Set(results.map((line) => line.run_id));
  const succeeded = new Set(results.filter((line) => line.success).map((line) => line.run_id));
  return {
    executed: runs.size,
    lost: [...runs].filter((runId) => !delivered.has(runId)),
    phantom: [...succeeded].filter((runId) => !runs.has(runId)),
    executedTwice: duplicated,
    duplicateResults: results.length - delivered.size,
    duplicatesOnOneStream:
      results.length - new Set(results.map((line) => `${line.stream} ${line.run_id}`)).size,
    resent: repeated(rig.scheduler.sent()),
    failedResults: results
      .filter((line) => !line.success)
      .map(({ run_id, error_type }) => ({ run_id, error_type })),
  };
}

function repeated(items: readonly string[]): string[] {
  return [...new Set(items.filter((item, index) => items.indexOf(item) !== index))];
}

describe("chaos: random faults", () => {
  it(`${RUNS} runs through scheduler kills, resets, a black-hole and delays: every executed run reports, once`, async () => {
    const seed = Number(process.env.CHAOS_SEED) || Math.floor(Math.random() * 2 ** 31);
    console.log(`chaos seed ${seed} (replay with CHAOS_SEED=${seed})`);
    const random = seededRandom(seed);
    const rig = await startRig();
    const epoch = Date.now();
    const runs = plan(random, epoch);
    const steps = faultSchedule(random);
    console.log(`faults: ${JSON.stringify(steps)}`);
    rig.scheduler.addRuns(runs);

    for (const step of steps) {
      await sleep(step.gapMs);
      await inject(rig, step.fault);
    }
    const lastDispatch = runs.at(-1)?.at ?? epoch;
    await sleep(Math.max(0, lastDispatch + RUN_MS.max - Date.now()));
    // Done when everything was dispatched and every executed run has reported; lost results never do.
    await holdsWithin(SETTLE_MS, () => rig.scheduler.sent().length === RUNS && report(rig).lost.length === 0);

    const outcome = report(rig);
    console.log(
      `seed ${seed}: ${rig.scheduler.sent().length} sent, ${outcome.executed} executed, ` +
        `${outcome.lost.length} lost, ${outcome.duplicateResults} duplicate results ` +
        `(${outcome.duplicatesOnOneStream} on the stream that already had them), ` +
        `${outcome.executedTwice.length} executed twice, ${outcome.failedResults.length} failed results`,
    );
    expect(outcome.resent, "the scheduler re-sent runs (harness bug)").toEqual([]);
    const log = workerLog(rig.worker);
    expect(
      outcome.lost,
      `${outcome.lost.length} of ${outcome.executed} results lost (seed ${seed})${log}`,
    ).toEqual([]);
    expect(outcome.executedTwice, `runs executed twice (seed ${seed})`).toEqual([]);
    expect(outcome.phantom, `results of runs never executed (seed ${seed})`).toEqual([]);
    expect(
      outcome.executed,
      `only ${outcome.executed} of ${RUNS} runs executed (seed ${seed})${log}`,
    ).toBeGreaterThanOrEqual(RUNS * 0.75);
  }, 150_000);
});
