import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResponse } from "../../../src/adapters/http/client.js";
import { REPO_ROOT, type RunnerProcess, readEventStream, startRunner } from "../../support/runner-process.js";

const PROJECT = join(REPO_ROOT, "test/projects/runner");

let runner: RunnerProcess;

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${runner.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: JSON.parse(text) as RunResponse & Record<string, unknown>,
  };
}

beforeAll(async () => {
  runner = await startRunner(PROJECT, { WORKER_MAX_INPUT_BYTES: "2048", WORKER_MAX_CONCURRENCY: "6" });
});

afterAll(async () => {
  await runner?.stop();
});

describe("dev runner: runs", () => {
  it("runs a handler, applies defaults and returns the reference response shape", async () => {
    const { status, body } = await post("/v1/run/echo", { text: "hi" });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      success: true,
      output: { text: "hi", times: 1 },
      error_type: "",
      safe_message: "",
    });
    expect(typeof body.run_id).toBe("string");
    expect(body.timing_ms.total_ms).toBeGreaterThan(0);
    const types = body.events.map((e) => e.event_type);
    expect(types).toEqual([
      "metrics.compute.started",
      "job.log",
      "metrics.compute.completed",
      "metrics.inference",
      "metrics.run",
    ]);
    expect(body.events[1]?.payload).toMatchObject({ message: "echoing", level: "info" });
    expect(body.events[0]?.payload.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it("accepts the envelope form, slug and function names, and a sync handler", async () => {
    const envelope = await post("/v1/run/echo", {
      payload: { text: "a", times: 2 },
      run_id: "run-envelope-1",
    });
    expect(envelope.body).toMatchObject({ run_id: "run-envelope-1", output: { text: "a a", times: 2 } });
    const slug = await post("/v1/run/echo-sync", { text: "x" });
    const name = await post("/v1/run/echo_sync", { text: "x" });
    expect([slug.status, name.status]).toEqual([200, 200]);
    expect(slug.body.output).toEqual({ text: "x" });
  });

  it("answers each error type with its HTTP status and the unchanged JSON body", async () => {
    const cases: [string, number, string][] = [
      ["validation", 422, "validation"],
      ["auth", 401, "auth"],
      ["retryable", 503, "retryable"],
      ["fatal", 500, "fatal"],
      ["type", 500, "internal"],
      ["string", 500, "internal"],
    ];
    for (const [kind, status, errorType] of cases) {
      const response = await post("/v1/run/fail_with", { kind });
      expect([kind, response.status, response.body.error_type]).toEqual([kind, status, errorType]);
      expect(response.body.success).toBe(false);
      if (status === 503) expect(response.headers.get("retry-after")).toBe("1");
    }
  });

  it("sanitizes user-facing messages but keeps model refs, and keeps the full message for operators", async () => {
    const validation = await post("/v1/run/fail_with", { kind: "validation" });
    expect(validation.body.safe_message).toBe("prompt is too long for model hf:acme/det");
    const auth = await post("/v1/run/fail_with", { kind: "auth" });
    expect(auth.body.safe_message).toBe("token expired: Bearer <redacted>");
    expect(auth.body.error_message).toBe("AuthError: token expired: Bearer abc.def.ghi");
    const retryable = await post("/v1/run/fail_with", { kind: "retryable" });
    expect(retryable.body.safe_message).toBe("upstream busy at <url>");
    const internal = await post("/v1/run/fail_with", { kind: "type" });
    expect(internal.body.safe_message).toBe("internal error");
  });

  it("rejects bad JSON, bad envelopes, unknown endpoints and wrong payloads with 4xx naming the problem", async () => {
    const badJson = await post("/v1/run/echo", "{not json");
    expect(badJson.status).toBe(400);
    expect(badJson.body.error).toBe("invalid_json");
    const badEnvelope = await post("/v1/run/echo", { payload: { text: "x" }, timeout_ms: "soon" });
    expect(badEnvelope.status).toBe(400);
    const unknown = await post("/v1/run/nope", {});
    expect(unknown.status).toBe(404);
    expect(String(unknown.body.message)).toContain("echo");
    const wrongType = await post("/v1/run/echo", { text: 5 });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.safe_message).toContain("$.text must be string");
    const missing = await post("/v1/run/echo", { times: 1 });
    expect(missing.body.safe_message).toContain("$.text is required");
    const outOfBounds = await post("/v1/run/echo", { text: "x", times: 11 });
    expect(outOfBounds.body.safe_message).toContain("$.times must be <= 10");
    const badEnum = await post("/v1/run/echo", { text: "x", mode: "shout" });
    expect(badEnum.body.safe_message).toContain("$.mode must be one of");
  });

  it("fails a handler that throws synchronously or returns the wrong shape, and keeps serving", async () => {
    const sync = await post("/v1/run/throw_sync", {});
    expect(sync.status).toBe(500);
    expect(sync.body.error_message).toBe("Error: sync boom");
    const shape = await post("/v1/run/wrong_shape", {});
    expect(shape.status).toBe(500);
    expect(shape.body.error_message).toContain("$.count must be number");
    const stray = await post("/v1/run/stray_rejection", {});
    expect(stray.status).toBe(200);
    await new Promise((done) => setTimeout(done, 50));
    const after = await post("/v1/run/echo", { text: "still here" });
    expect(after.status).toBe(200);
    expect(runner.stderr()).toContain("nobody awaits this");
    expect(runner.stderr()).toContain("thrown from a timer");
  });
});

describe("dev runner: streaming", () => {
  it("streams deltas, then output.completed, then the result, as server-sent events", async () => {
    const response = await fetch(`${runner.url}/v1/run/words`, {
      method: "POST",
      headers: { accept: "text/event-stream", "content-type": "application/json" },
      body: JSON.stringify({ text: "one two three" }),
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const events = await readEventStream(response);
    const names = events.map((e) => e.event).filter((e) => !e.startsWith("metrics."));
    expect(names).toEqual([
      "job.progress",
      "output.delta",
      "job.progress",
      "output.delta",
      "job.progress",
      "output.delta",
      "output.completed",
      "result",
    ]);
    const deltas = events.filter((e) => e.event === "output.delta").map((e) => e.data.payload);
    expect(deltas).toEqual([{ delta: "one" }, { delta: "two" }, { delta: "three" }]);
    expect(events.at(-1)?.data).toMatchObject({ success: true, output: null });
  });

  it("returns the events in order without SSE, and streams sync generators", async () => {
    const { body } = await post("/v1/run/count_sync", { to: 3 });
    const types = body.events.map((e) => e.event_type);
    expect(types.filter((t) => t.startsWith("output."))).toEqual([
      "output.delta",
      "output.delta",
      "output.delta",
      "output.completed",
    ]);
    expect(types.indexOf("output.completed")).toBeLessThan(types.indexOf("metrics.compute.completed"));
  });

  it("a cancel in the middle of a stream stops the handler within 100 ms", async () => {
    const runId = `cancel-${Date.now()}`;
    let canceledAt = 0;
    const response = await fetch(`${runner.url}/v1/run/endless`, {
      method: "POST",
      headers: { accept: "text/event-stream", "content-type": "application/json" },
      body: JSON.stringify({ payload: {}, run_id: runId }),
    });
    let deltas = 0;
    const events = await readEventStream(response, (event) => {
      if (event === "output.delta" && ++deltas === 3) {
        canceledAt = Date.now();
        void fetch(`${runner.url}/v1/runs/${runId}/cancel`, { method: "POST" });
      }
    });
    const stopped = events.find((e) => e.event === "custom.stopped");
    expect(stopped).toBeDefined();
    const stoppedAt = Number((stopped?.data.payload as Record<string, unknown> | undefined)?.at);
    expect(stoppedAt - canceledAt).toBeLessThan(100);
    const result = events.at(-1);
    expect(result?.event).toBe("result");
    expect(result?.data).toMatchObject({ success: false, error_type: "canceled" });
    expect(events.some((e) => e.event === "output.error")).toBe(true);
  });

  it("answers 404 to a cancel of an unknown run", async () => {
    const response = await fetch(`${runner.url}/v1/runs/no-such-run/cancel`, { method: "POST" });
    expect(response.status).toBe(404);
  });
});

describe("dev runner: limits", () => {
  it("enforces timeout_ms: the run ends canceled with a timeout message", async () => {
    const started = Date.now();
    const { status, body } = await post("/v1/run/wait_for_cancel", {
      payload: { ms: 10_000 },
      timeout_ms: 200,
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(status).toBe(504);
    expect(body.error_type).toBe("canceled");
    expect(body.safe_message).toContain("timed out after 200 ms");
  });

  it("refuses an oversize input without calling the handler", async () => {
    const { status, body } = await post("/v1/run/echo", { text: "x".repeat(4096) });
    expect(status).toBe(413);
    expect(body.error_type).toBe("validation");
    expect(body.error_message).toMatch(/Input payload too large: \d+ bytes \(max 2048\)/);
    expect(body.events).toEqual([]);
  });

  it("a full per-function limit answers 429 with Retry-After, and recovers", async () => {
    const first = post("/v1/run/single_slot", { ms: 400 });
    await new Promise((done) => setTimeout(done, 100));
    const second = await post("/v1/run/single_slot", { ms: 1 });
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBe("1");
    expect(second.body.error_type).toBe("retryable");
    expect((await first).status).toBe(200);
    const third = await post("/v1/run/single_slot", { ms: 1 });
    expect(third.status).toBe(200);
  });

  it("a handler that never resolves does not block other requests", async () => {
    const controller = new AbortController();
    const hanging = fetch(`${runner.url}/v1/run/hang`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
      signal: controller.signal,
    }).catch(() => undefined);
    await new Promise((done) => setTimeout(done, 50));
    const health = await fetch(`${runner.url}/health`).then((r) => r.json());
    expect(health).toMatchObject({ status: "busy" });
    const results = await Promise.all([1, 2, 3].map((n) => post("/v1/run/sleep_ms", { ms: 50 * n })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    controller.abort();
    await hanging;
  });
});

describe("dev runner: files", () => {
  it("saves outputs under <outputs>/runs/<run_id>/outputs/ and reports the asset", async () => {
    const { status, body } = await post("/v1/run/save_text", {
      payload: { ref: "hello.txt", text: "hello" },
      run_id: "run-save-1",
    });
    expect(status).toBe(200);
    const file = (body.output as { file: Record<string, unknown> }).file;
    expect(file.ref).toBe("runs/run-save-1/outputs/hello.txt");
    expect(file.local_path).toBe(join(runner.outputsDir, "runs/run-save-1/outputs/hello.txt"));
    expect(file.size_bytes).toBe(5);
    expect(await readFile(join(runner.outputsDir, "runs/run-save-1/outputs/hello.txt"), "utf8")).toBe(
      "hello",
    );
  });

  it("refuses refs that escape the run's folder or name another run", async () => {
    for (const ref of [
      "../escape.txt",
      "runs/other-run/outputs/x.txt",
      "runs/run-save-2/outputs/../../x.txt",
    ]) {
      const { status, body } = await post("/v1/run/save_text", {
        payload: { ref, text: "no" },
        run_id: "run-save-2",
      });
      expect([ref, status, body.error_type]).toEqual([ref, 422, "validation"]);
    }
    expect(existsSync(join(runner.outputsDir, "escape.txt"))).toBe(false);
    expect(existsSync(join(runner.outputsDir, "runs/other-run"))).toBe(false);
  });

  it("create-only saves refuse to overwrite", async () => {
    const { status, body } = await post("/v1/run/save_twice", {
      payload: { ref: "once.txt" },
      run_id: "run-save-3",
    });
    expect(status).toBe(422);
    expect(body.safe_message).toContain("already exists");
    expect(await readFile(join(runner.outputsDir, "runs/run-save-3/outputs/once.txt"), "utf8")).toBe("one");
  });

  it("blocks input URLs that reach private, loopback or link-local addresses", async () => {
    for (const url of [
      "http://127.0.0.1:9/x.png",
      "http://10.0.0.1/x.png",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]:9/x.png",
      "http://localhost:9/x.png",
    ]) {
      const { status, body } = await post("/v1/run/read_asset", { image: { ref: url } });
      expect([url, status, body.error_type]).toEqual([url, 422, "validation"]);
      expect(body.error_message).toContain("blocked");
    }
  });
});

describe("dev runner: process", () => {
  it("reports health and status", async () => {
    const status = (await fetch(`${runner.url}/v1/status`).then((r) => r.json())) as {
      ok: boolean;
      functions: string[];
    };
    expect(status.ok).toBe(true);
    expect(status.functions).toContain("echo");
    expect(status.functions).toEqual([...status.functions].sort());
  });

  it("drains in-flight runs on SIGTERM and exits 0", async () => {
    const own = await startRunner(PROJECT);
    const inflight = fetch(`${own.url}/v1/run/sleep_ms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ms: 300 }),
    });
    await new Promise((done) => setTimeout(done, 100));
    const exit = own.stop("SIGTERM");
    const response = await inflight;
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ success: true, output: { slept: 300 } });
    expect(await exit).toBe(0);
  });
});
