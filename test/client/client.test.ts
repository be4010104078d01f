/**
 * gen-worker/client against real dev runners: examples/hello for runs, streams and progress,
 * test/projects/runner for every error type, timeouts and cancellation.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthRunError,
  CanceledRunError,
  createClient,
  FatalRunError,
  InternalRunError,
  type Progress,
  ResourceRunError,
  RetryableRunError,
  RunError,
  RunnerError,
  ValidationRunError,
} from "../../src/client/index.js";
import {
  REPO_ROOT,
  type RunnerProcess,
  removeTenantBundles,
  startRunner,
} from "../support/runner-process.js";

const HELLO = join(REPO_ROOT, "examples/hello");
const RUNNER_PROJECT = join(REPO_ROOT, "test/projects/runner");

async function stopRunner(runner: RunnerProcess | undefined, project: string): Promise<void> {
  if (!runner) return;
  await runner.stop();
  await removeTenantBundles(project, runner.child.pid);
  await rm(runner.outputsDir, { recursive: true, force: true });
}

/** Resolves with what `promise` rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.fail(`expected a rejection, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 25));
  }
}

describe("a client for examples/hello", () => {
  let runner: RunnerProcess;
  let client: ReturnType<typeof createClient<typeof import("../../examples/hello/src/main.js")>>;

  beforeAll(async () => {
    runner = await startRunner(HELLO);
    client = createClient<typeof import("../../examples/hello/src/main.js")>({ url: runner.url });
  });
  afterAll(() => stopRunner(runner, HELLO));

  it("runs an endpoint and resolves with its output", async () => {
    expect(await client.run("hello", { name: "world", times: 2 })).toEqual({
      greeting: "Hello, world! Hello, world!",
    });
  });

  it("reports progress, uses the run id it is given, and returns the saved file's ref", async () => {
    const progress: Progress[] = [];
    const events: string[] = [];
    const { card } = await client.run(
      "card",
      { name: "Ada" },
      {
        runId: "client-card-1",
        onProgress: (step) => progress.push(step),
        onEvent: (event) => events.push(event.type),
      },
    );
    expect(progress).toEqual([{ fraction: 0.5, stage: "drawing" }]);
    expect(events).toContain("job.progress");
    expect(card.ref).toBe("runs/client-card-1/outputs/card.svg");
    expect(card.local_path && existsSync(card.local_path)).toBe(true);
  });

  it("streams deltas as they come, with progress", async () => {
    const fractions: number[] = [];
    const words: string[] = [];
    for await (const { delta } of client.stream(
      "words",
      { text: "one two three" },
      { onProgress: ({ fraction }) => fractions.push(fraction) },
    )) {
      words.push(delta);
    }
    expect(words).toEqual(["one", "two", "three"]);
    expect(fractions).toEqual([1 / 3, 2 / 3, 1]);
  });

  it("rejects an invalid payload with a ValidationRunError that says what is wrong", async () => {
    const error = await rejection(client.run("hello", { name: "" }));
    expect(error).toBeInstanceOf(ValidationRunError);
    expect(error).toBeInstanceOf(RunError);
    expect(error).toMatchObject({ errorType: "validation", retryable: false, endpoint: "hello" });
    expect((error as RunError).safeMessage).toMatch(/name/);
    expect((error as RunError).message).toMatch(/^hello failed \(validation\): /);
  });

  it("says when the runner has no such endpoint, and when there is no runner", async () => {
    const unknown = await rejection(client.run("goodbye" as "hello", { name: "world" }));
    expect(unknown).toBeInstanceOf(RunnerError);
    expect(unknown).toMatchObject({ status: 404 });
    expect((unknown as Error).message).toMatch(/unknown function 'goodbye'.*regenerate it/);
    const nowhere = createClient<typeof import("../../examples/hello/src/main.js")>({
      url: "http://127.0.0.1:9",
    });
    const unreachable = await rejection(nowhere.run("hello", { name: "world" }));
    expect(unreachable).toBeInstanceOf(RunnerError);
    expect((unreachable as Error).message).toMatch(
      /no runner answered at http:\/\/127\.0\.0\.1:9 .*run --local/,
    );
  });
});

describe("errors and cancellation (test/projects/runner)", () => {
  let runner: RunnerProcess;
  let client: ReturnType<typeof createClient<typeof import("../projects/runner/src/main.js")>>;
  /** The paths the client requested, through its `fetch` option. */
  const requested: string[] = [];

  beforeAll(async () => {
    runner = await startRunner(RUNNER_PROJECT);
    client = createClient<typeof import("../projects/runner/src/main.js")>({
      url: `${runner.url}/`,
      fetch: (input, init) => {
        requested.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname}`);
        return fetch(input, init);
      },
    });
  });
  afterAll(() => stopRunner(runner, RUNNER_PROJECT));

  const inFlight = async () =>
    ((await (await fetch(`${runner.url}/health`)).json()) as { in_flight: number }).in_flight;

  it.each([
    ["validation", ValidationRunError, false],
    ["retryable", RetryableRunError, true],
    ["resource", ResourceRunError, false],
    ["fatal", FatalRunError, false],
    ["auth", AuthRunError, false],
    ["canceled", CanceledRunError, false],
    ["type", InternalRunError, false],
  ] as const)("a handler's %s error arrives as its class", async (kind, errorClass, retryable) => {
    const error = (await rejection(client.run("fail_with", { kind }))) as RunError;
    expect(error).toBeInstanceOf(errorClass);
    expect(error.errorType).toBe(kind === "type" ? "internal" : kind);
    expect(error.retryable).toBe(retryable);
    expect(error.safeMessage).not.toBe("");
    expect(error.safeMessage).not.toMatch(/s3cret|abc\.def\.ghi/);
  });

  it("aborting the signal cancels the run on the runner, by the run id the client chose", async () => {
    const abort = new AbortController();
    const running = client.run(
      "wait_for_cancel",
      { ms: 60_000 },
      { runId: "client-abort-1", signal: abort.signal },
    );
    await until("the run to start", async () => (await inFlight()) === 1);
    abort.abort();
    const error = await rejection(running);
    expect(error).toBeInstanceOf(CanceledRunError);
    expect(requested).toContain("POST /v1/runs/client-abort-1/cancel");
    expect(await inFlight()).toBe(0);
    await until("the access log line", () => /client-abort-1 .* canceled/.test(runner.stderr()));
  });

  it("aborts a stream, and leaving a stream's loop early cancels its run too", async () => {
    const abort = new AbortController();
    const ticks: number[] = [];
    const error = await rejection(
      (async () => {
        for await (const { tick } of client.stream("endless", {}, { signal: abort.signal })) {
          ticks.push(tick);
          if (tick === 2) abort.abort();
        }
      })(),
    );
    expect(error).toBeInstanceOf(CanceledRunError);
    expect(ticks.slice(0, 3)).toEqual([0, 1, 2]);

    for await (const { tick } of client.stream("endless", {}, { runId: "client-break-1" })) {
      if (tick === 1) break;
    }
    expect(requested).toContain("POST /v1/runs/client-break-1/cancel");
    await until("the run to end", async () => (await inFlight()) === 0);
  });

  it("a signal aborted before the call rejects at once, sending nothing", async () => {
    const before = requested.length;
    const error = await rejection(client.run("echo", { text: "x" }, { signal: AbortSignal.abort() }));
    expect(error).toBeInstanceOf(CanceledRunError);
    expect(requested.length).toBe(before);
  });

  it("timeoutMs cancels the run on the runner", async () => {
    const error = (await rejection(client.run("sleep_ms", { ms: 5_000 }, { timeoutMs: 100 }))) as RunError;
    expect(error).toBeInstanceOf(CanceledRunError);
    expect(error.errorMessage).toMatch(/timed out after 100 ms/);
  });

  it("a stream's failure is thrown from the loop after the deltas that came", async () => {
    const deltas: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const { delta } of client.stream("broken_stream", { after: 2 })) deltas.push(delta);
      })(),
    );
    expect(deltas).toEqual(["w0", "w1"]);
    expect(error).toBeInstanceOf(InternalRunError);
  });
});
