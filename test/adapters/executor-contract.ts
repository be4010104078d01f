/**
 * The executor's behaviour as a user of either transport observes it, as one suite that each
 * adapter's test file runs against its own transport (the dev HTTP runner and the gRPC worker).
 * The cases use the handlers of test/projects/runner; transport-specific behaviour (HTTP statuses
 * and headers, SSE framing, msgpack decoding, registration, repeated run_requests) stays in the
 * adapters' own test files.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** One event of a run, as it travels: `type` is the wire name (`output.delta`, or a handler's own name). */
export interface ContractEvent {
  type: string;
  payload: Record<string, unknown>;
}

/** What a user of the transport observes about one finished run. */
export interface ContractOutcome {
  runId: string;
  success: boolean;
  /** The single output (decoded from the wire); `null` when the run has none. */
  output: unknown;
  /** `""` on success, and where the transport refused the request without a run result. */
  errorType: string;
  retryable: boolean;
  safeMessage: string;
  errorMessage: string;
  /** The run's events that arrived before its result, in order. */
  events: ContractEvent[];
}

export interface ContractRunOptions {
  /** Default: a fresh id the transport picks. */
  runId?: string;
  timeoutMs?: number;
}

export interface ContractTransport {
  /** Runs a function to its outcome; never rejects for a failed run. */
  run(functionName: string, payload: unknown, options?: ContractRunOptions): Promise<ContractOutcome>;
  /** Waits until the run is in flight, then cancels it; resolves once the cancel was delivered. */
  cancel(runId: string): Promise<void>;
  /** The types of the run's events that arrived after its result (waiting briefly for stragglers). */
  eventsAfterResult(runId: string): Promise<string[]>;
  /** Stops the adapter and removes what it left behind. */
  close(): Promise<void>;
}

/** The limits both adapters are started with. */
export const CONTRACT_ENV: Readonly<Record<string, string>> = {
  WORKER_MAX_INPUT_BYTES: "2048",
  WORKER_MAX_OUTPUT_BYTES: "4096",
};

const RFC3339_MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

const types = (outcome: ContractOutcome) => outcome.events.map((e) => e.type);

const payloadsOf = (outcome: ContractOutcome, type: string) =>
  outcome.events.filter((e) => e.type === type).map((e) => e.payload);

/** A `timestamp` in epoch seconds, taken between `from` and now (epoch milliseconds). */
function expectEpochSeconds(value: unknown, from: number): void {
  expect(typeof value).toBe("number");
  expect(value as number).toBeGreaterThanOrEqual(Math.floor(from / 1000) - 1);
  expect(value as number).toBeLessThanOrEqual(Date.now() / 1000 + 1);
}

/** The metrics a finished run ends with: started first, completed and run last, nothing after run. */
function expectMetricsFrame(outcome: ContractOutcome, functionName: string): void {
  const names = types(outcome);
  expect(names[0]).toBe("metrics.compute.started");
  expect(names.at(-1)).toBe("metrics.run");
  expect(names.filter((t) => t === "metrics.compute.started")).toHaveLength(1);
  expect(names.filter((t) => t === "metrics.run")).toHaveLength(1);
  expect(outcome.events[0]?.payload.at).toMatch(RFC3339_MICRO);
  expect(outcome.events.at(-1)?.payload).toMatchObject({ schema_version: 1, function_name: functionName });
}

export function executorContract(name: string, makeTransport: () => Promise<ContractTransport>): void {
  describe(`executor contract over ${name}`, () => {
    let transport: ContractTransport;
    let counter = 0;
    const newRunId = (label: string) => `contract-${label}-${++counter}-${process.pid}-${Date.now()}`;

    beforeAll(async () => {
      transport = await makeTransport();
    });

    afterAll(async () => {
      await transport?.close();
    });

    describe("single outputs", () => {
      it("applies the input's defaults and returns the handler's exact output", async () => {
        const defaulted = await transport.run("echo", { text: "hi" });
        expect(defaulted).toMatchObject({
          success: true,
          errorType: "",
          retryable: false,
          safeMessage: "",
          errorMessage: "",
        });
        expect(defaulted.output).toEqual({ text: "hi", times: 1 });
        const given = await transport.run("echo", { text: "ab", times: 3, mode: "loud" });
        expect(given.output).toEqual({ text: "AB AB AB", times: 3 });
        const sync = await transport.run("echo_sync", { text: "x y" });
        expect([sync.success, sync.output]).toEqual([true, { text: "x y" }]);
      });

      it("sends the run's events in the reference order, all of them before the result", async () => {
        const started = Date.now();
        const outcome = await transport.run("echo", { text: "hi" }, { runId: newRunId("order") });
        expect(types(outcome)).toEqual([
          "metrics.compute.started",
          "job.log",
          "metrics.compute.completed",
          "metrics.inference",
          "metrics.run",
        ]);
        expectMetricsFrame(outcome, "echo");
        const [, log, completed, inference, run] = outcome.events;
        expect(completed?.payload.at).toMatch(RFC3339_MICRO);
        expect(String(completed?.payload.at) >= String(outcome.events[0]?.payload.at)).toBe(true);
        expect(log?.payload).toMatchObject({ message: "echoing", level: "info" });
        expectEpochSeconds(log?.payload.timestamp, started);
        expect(typeof inference?.payload.ms).toBe("number");
        expect(typeof run?.payload.inference_ms).toBe("number");
        expect(run?.payload.peak_ram_bytes as number).toBeGreaterThan(0);
        expect(await transport.eventsAfterResult(outcome.runId)).toEqual([]);
      });

      it("keeps running other work after a handler leaves a stray rejection and a timer throw", async () => {
        const stray = await transport.run("stray_rejection", {});
        expect([stray.success, stray.output]).toEqual([true, { ok: true }]);
        await sleep(50);
        const after = await transport.run("echo", { text: "still here" });
        expect(after.output).toEqual({ text: "still here", times: 1 });
      });
    });

    describe("streaming outputs", () => {
      it("streams the deltas in order with their progress, then output.completed; the result has no output", async () => {
        const started = Date.now();
        const outcome = await transport.run("words", { text: "one two three" }, { runId: newRunId("words") });
        expect(outcome).toMatchObject({ success: true, output: null, errorType: "", safeMessage: "" });
        expect(types(outcome).filter((t) => !t.startsWith("metrics."))).toEqual([
          "job.progress",
          "output.delta",
          "job.progress",
          "output.delta",
          "job.progress",
          "output.delta",
          "output.completed",
        ]);
        expect(payloadsOf(outcome, "output.delta")).toEqual([
          { delta: "one" },
          { delta: "two" },
          { delta: "three" },
        ]);
        expect(payloadsOf(outcome, "output.completed")).toEqual([{}]);
        expectMetricsFrame(outcome, "words");
        const names = types(outcome);
        expect(names.indexOf("output.completed")).toBeLessThan(names.indexOf("metrics.compute.completed"));
        expect(names).toContain("metrics.inference");
        const progress = payloadsOf(outcome, "job.progress");
        expect(progress.map((p) => [p.progress, p.stage])).toEqual([
          [1 / 3, "speaking"],
          [2 / 3, "speaking"],
          [1, "speaking"],
        ]);
        for (const p of progress) expectEpochSeconds(p.timestamp, started);
        expect(await transport.eventsAfterResult(outcome.runId)).toEqual([]);
      });

      it("streams a synchronous generator's items", async () => {
        const outcome = await transport.run("count_sync", { to: 3 });
        expect([outcome.success, outcome.output]).toEqual([true, null]);
        expect(outcome.events.filter((e) => e.type.startsWith("output."))).toEqual([
          { type: "output.delta", payload: { n: 1 } },
          { type: "output.delta", payload: { n: 2 } },
          { type: "output.delta", payload: { n: 3 } },
          { type: "output.completed", payload: {} },
        ]);
        const names = types(outcome);
        expect(names.indexOf("output.completed")).toBeLessThan(names.indexOf("metrics.compute.completed"));
        expectMetricsFrame(outcome, "count_sync");
      });

      it("a stream that throws sends output.error with the safe message before the metrics", async () => {
        const outcome = await transport.run("broken_stream", { after: 2 });
        expect(outcome).toMatchObject({
          success: false,
          output: null,
          errorType: "internal",
          retryable: false,
          safeMessage: "internal error",
          errorMessage: "Error: stream broke at /srv/app/src/main.ts",
        });
        expect(types(outcome)).toEqual([
          "metrics.compute.started",
          "output.delta",
          "output.delta",
          "output.error",
          "metrics.compute.completed",
          "metrics.run",
        ]);
        expect(payloadsOf(outcome, "output.error")).toEqual([
          { error_type: "internal", message: "internal error" },
        ]);
        expectMetricsFrame(outcome, "broken_stream");
        expect(outcome.events.at(-1)?.payload).not.toHaveProperty("inference_ms");
      });
    });

    describe("failures", () => {
      const table = [
        {
          thrown: "ValidationError",
          payload: { kind: "validation" },
          errorType: "validation",
          retryable: false,
          safeMessage: "prompt is too long for model hf:acme/det",
          errorMessage: "ValidationError: prompt is too long for model hf:acme/det",
        },
        {
          thrown: "RetryableError",
          payload: { kind: "retryable" },
          errorType: "retryable",
          retryable: true,
          safeMessage: "upstream busy at <url>",
          errorMessage: "RetryableError: upstream busy at https://internal.example/api?token=s3cret",
        },
        {
          thrown: "ResourceError",
          payload: { kind: "resource" },
          errorType: "resource",
          retryable: false,
          safeMessage: "no space left in <path>",
          errorMessage: "ResourceError: no space left in /var/cache/models",
        },
        {
          thrown: "FatalError",
          payload: { kind: "fatal" },
          errorType: "fatal",
          retryable: false,
          safeMessage: "cannot run on this worker",
          errorMessage: "FatalError: cannot run on this worker",
        },
        {
          thrown: "AuthError",
          payload: { kind: "auth" },
          errorType: "auth",
          retryable: false,
          safeMessage: "token expired: Bearer <redacted>",
          errorMessage: "AuthError: token expired: Bearer abc.def.ghi",
        },
        {
          thrown: "CanceledError without a message",
          payload: { kind: "canceled" },
          errorType: "canceled",
          retryable: false,
          safeMessage: "canceled",
          errorMessage: "CanceledError: ",
        },
        {
          thrown: "CanceledError with a reason (the safe message stays the fixed word)",
          payload: { kind: "canceled-with-reason" },
          errorType: "canceled",
          retryable: false,
          safeMessage: "canceled",
          errorMessage: "CanceledError: the user left the page at /srv/app",
        },
        {
          thrown: "TypeError",
          payload: { kind: "type" },
          errorType: "internal",
          retryable: false,
          safeMessage: "internal error",
          errorMessage:
            "TypeError: cannot read properties of undefined (reading 'x') at /srv/app/src/main.ts",
        },
        {
          thrown: "string",
          payload: { kind: "string" },
          errorType: "internal",
          retryable: false,
          safeMessage: "internal error",
          errorMessage: "string: a bare string",
        },
      ];

      it.each(table)("a handler that throws a $thrown fails as $errorType", async (expected) => {
        const outcome = await transport.run("fail_with", expected.payload);
        expect(outcome).toMatchObject({
          success: false,
          output: null,
          errorType: expected.errorType,
          retryable: expected.retryable,
          safeMessage: expected.safeMessage,
          errorMessage: expected.errorMessage,
        });
        expect(types(outcome)).toEqual([
          "metrics.compute.started",
          "metrics.compute.completed",
          "metrics.run",
        ]);
      });

      it("a plain Error thrown synchronously fails as internal, keeping the message for operators only", async () => {
        const outcome = await transport.run("throw_sync", {});
        expect(outcome).toMatchObject({
          success: false,
          errorType: "internal",
          retryable: false,
          safeMessage: "internal error",
          errorMessage: "Error: sync boom",
        });
      });

      it("an output that does not match the declared type fails as internal, naming the field", async () => {
        const outcome = await transport.run("wrong_shape", {});
        expect(outcome).toMatchObject({ success: false, output: null, errorType: "internal" });
        expect(outcome.safeMessage).toBe("internal error");
        expect(outcome.errorMessage).toContain("$.count must be number");
      });

      it("invalid input fails as validation naming the JSON path, without calling the handler", async () => {
        const cases: [unknown, string][] = [
          [{ text: 5 }, "$.text must be string"],
          [{ times: 1 }, "$.text is required"],
          [{ text: "x", times: 11 }, "$.times must be <= 10"],
          [{ text: "x", mode: "shout" }, "$.mode must be one of"],
        ];
        for (const [payload, problem] of cases) {
          const outcome = await transport.run("echo", payload);
          expect([problem, outcome.success, outcome.errorType, outcome.retryable]).toEqual([
            problem,
            false,
            "validation",
            false,
          ]);
          expect(outcome.safeMessage).toContain(problem);
          expect(outcome.errorMessage).toContain(problem);
          // echo logs first thing: no job.log means it never ran.
          expect(types(outcome)).not.toContain("job.log");
        }
      });

      it("refuses an unknown function without running anything", async () => {
        const outcome = await transport.run("no_such_function", {});
        expect(outcome.success).toBe(false);
        expect(outcome.retryable).toBe(false);
        expect(outcome.events).toEqual([]);
        expect(outcome.errorMessage).toContain("no_such_function");
      });

      it("refuses an input file URL that reaches a private, loopback or link-local address", async () => {
        for (const url of [
          "http://127.0.0.1:9/x.png",
          "http://10.0.0.1/x.png",
          "http://169.254.169.254/latest/meta-data",
          "http://[::1]:9/x.png",
          "http://localhost:9/x.png",
        ]) {
          const outcome = await transport.run("read_asset", { image: { ref: url } });
          expect([url, outcome.success, outcome.errorType]).toEqual([url, false, "validation"]);
          expect(outcome.errorMessage).toContain("blocked");
          expect(outcome.safeMessage).toContain("input url blocked");
        }
      });
    });

    describe("limits", () => {
      it("an output over WORKER_MAX_OUTPUT_BYTES fails as resource", async () => {
        const outcome = await transport.run("echo", { text: "x".repeat(1000), times: 10 });
        expect(outcome).toMatchObject({
          success: false,
          output: null,
          errorType: "resource",
          retryable: false,
        });
        expect(outcome.errorMessage).toMatch(
          /^ResourceError: Output payload too large: \d+ bytes \(max 4096\)$/,
        );
        expect(outcome.safeMessage).toMatch(/^Output payload too large: \d+ bytes \(max 4096\)$/);
        // The handler ran (it logged), but the run failed: no inference metric.
        expect(types(outcome)).toEqual([
          "metrics.compute.started",
          "job.log",
          "metrics.compute.completed",
          "metrics.run",
        ]);
        const fits = await transport.run("echo", { text: "x".repeat(1000), times: 3 });
        expect(fits.success).toBe(true);
      });

      it("an input over WORKER_MAX_INPUT_BYTES is refused as validation without starting the run", async () => {
        const outcome = await transport.run("echo", { text: "x".repeat(4096) });
        expect(outcome).toMatchObject({ success: false, errorType: "validation", retryable: false });
        expect(outcome.safeMessage).toBe("invalid input");
        expect(outcome.errorMessage).toMatch(/^Input payload too large: \d+ bytes \(max 2048\)$/);
        expect(outcome.events).toEqual([]);
      });

      it("a full per-function concurrency limit refuses the next run as retryable, and recovers", async () => {
        const first = transport.run("single_slot", { ms: 600 });
        await sleep(150);
        const second = await transport.run("single_slot", { ms: 1 });
        expect(second).toMatchObject({
          success: false,
          errorType: "retryable",
          retryable: true,
          safeMessage: "worker busy",
          errorMessage: "Function concurrency limit reached for single_slot (1).",
          events: [],
        });
        expect((await first).output).toEqual({ done: true });
        const third = await transport.run("single_slot", { ms: 1 });
        expect(third.output).toEqual({ done: true });
      });

      it("timeout_ms ends a slow run as canceled, the timeout named in the operator's message", async () => {
        const started = Date.now();
        const outcome = await transport.run("wait_for_cancel", { ms: 60_000 }, { timeoutMs: 200 });
        const took = Date.now() - started;
        expect(took).toBeGreaterThanOrEqual(190);
        expect(took).toBeLessThan(5_000);
        expect(outcome).toMatchObject({
          success: false,
          output: null,
          errorType: "canceled",
          retryable: false,
          safeMessage: "canceled",
          errorMessage: "CanceledError: run timed out after 200 ms",
        });
        expectMetricsFrame(outcome, "wait_for_cancel");
        expect(types(outcome)).not.toContain("metrics.inference");
      });

      it("timeout_ms 0 means no timeout", async () => {
        const outcome = await transport.run("sleep_ms", { ms: 50 }, { timeoutMs: 0 });
        expect(outcome.output).toEqual({ slept: 50 });
      });
    });

    describe("cancellation and handler events", () => {
      it("a cancel of a running single-output run ends it canceled", async () => {
        const runId = newRunId("cancel-single");
        const started = Date.now();
        const pending = transport.run("wait_for_cancel", { ms: 60_000 }, { runId });
        await sleep(100);
        await transport.cancel(runId);
        const outcome = await pending;
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(outcome).toMatchObject({ runId, success: false, output: null, errorType: "canceled" });
        expect(outcome.retryable).toBe(false);
        expect(outcome.safeMessage).toMatch(/^canceled/);
        expect(outcome.errorMessage).toMatch(/^CanceledError: canceled/);
        expectMetricsFrame(outcome, "wait_for_cancel");
      });

      it("a cancel of a running stream ends it canceled: output.error, then the metrics", async () => {
        const runId = newRunId("cancel-stream");
        const pending = transport.run("endless", {}, { runId });
        await sleep(150);
        await transport.cancel(runId);
        const outcome = await pending;
        expect(outcome).toMatchObject({ runId, success: false, output: null, errorType: "canceled" });
        const names = types(outcome);
        expect(names.slice(-3)).toEqual(["output.error", "metrics.compute.completed", "metrics.run"]);
        expect(names).not.toContain("output.completed");
        expect(payloadsOf(outcome, "output.error")).toEqual([
          { error_type: "canceled", message: outcome.safeMessage },
        ]);
        expectMetricsFrame(outcome, "endless");
      });

      it("ctx.progress, ctx.log and ctx.emit events arrive under their names with their payloads", async () => {
        const started = Date.now();
        const logged = await transport.run("echo", { text: "a" });
        const [log] = payloadsOf(logged, "job.log");
        expect(Object.keys(log ?? {}).sort()).toEqual(["level", "message", "timestamp"]);
        expect(log).toMatchObject({ message: "echoing", level: "info" });

        const spoken = await transport.run("words", { text: "a b" });
        const progress = payloadsOf(spoken, "job.progress");
        expect(progress.map((p) => Object.keys(p).sort())).toEqual([
          ["progress", "stage", "timestamp"],
          ["progress", "stage", "timestamp"],
        ]);
        expect(progress.map((p) => p.progress)).toEqual([0.5, 1]);

        // endless emits `custom.stopped` from its finally block when it is stopped.
        const runId = newRunId("emit");
        const pending = transport.run("endless", {}, { runId });
        await sleep(100);
        await transport.cancel(runId);
        const stopped = payloadsOf(await pending, "custom.stopped");
        expect(stopped).toHaveLength(1);
        expect(Object.keys(stopped[0] ?? {}).sort()).toEqual(["after_ticks", "at", "timestamp"]);
        expect(Number.isInteger(stopped[0]?.after_ticks)).toBe(true);
        expect(stopped[0]?.at as number).toBeGreaterThanOrEqual(started);
        expectEpochSeconds(stopped[0]?.timestamp, started);
        for (const payload of [log, ...progress]) expectEpochSeconds(payload?.timestamp, started);
      });
    });
  });
}
