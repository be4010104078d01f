import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { encode } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResponse } from "../../../src/adapters/http/client.js";
import {
  REPO_ROOT,
  type RunnerProcess,
  readEventStream,
  removeTenantBundles,
  startRunner,
} from "../../support/runner-process.js";

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
  runner = await startRunner(PROJECT, {
    WORKER_MAX_INPUT_BYTES: "2048",
    WORKER_MAX_OUTPUT_BYTES: "4096",
    WORKER_MAX_CONCURRENCY: "6",
  });
});

afterAll(async () => {
  await runner?.stop();
  await removeTenantBundles(PROJECT, runner?.child.pid);
  if (runner) await rm(runner.outputsDir, { recursive: true, force: true });
});

// The executor's behaviour through this runner (outputs, event order, error mapping, validation,
// limits, cancellation) is the shared contract in ../executor-contract.ts, run by
// executor-contract.test.ts; this file keeps what only HTTP has: statuses, headers, envelopes, SSE.

describe("dev runner: runs", () => {
  it("answers 200 with the reference response shape: run id, events tagged with it, timing", async () => {
    const { status, headers, body } = await post("/v1/run/echo", { text: "hi" });
    expect(status).toBe(200);
    expect(headers.get("content-type")).toBe("application/json");
    expect(Object.keys(body)).toEqual([
      "run_id",
      "success",
      "output",
      "error_type",
      "safe_message",
      "error_message",
      "events",
      "timing_ms",
    ]);
    expect(body).toMatchObject({ success: true, error_type: "", safe_message: "", error_message: "" });
    expect(body.run_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.timing_ms.total_ms).toBeGreaterThan(0);
    expect(body.events.length).toBeGreaterThan(0);
    for (const event of body.events) {
      expect(Object.keys(event)).toEqual(["run_id", "event_type", "payload"]);
      expect(event.run_id).toBe(body.run_id);
    }
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

  it("answers each error type with its HTTP status, and Retry-After only where a retry may succeed", async () => {
    // The body has no `retryable` field: Retry-After is how an HTTP client learns it.
    const cases: [string, unknown, number, string | null][] = [
      ["fail_with", { kind: "validation" }, 422, null],
      ["fail_with", { kind: "auth" }, 401, null],
      ["fail_with", { kind: "retryable" }, 503, "1"],
      ["fail_with", { kind: "resource" }, 503, null],
      ["fail_with", { kind: "fatal" }, 500, null],
      ["fail_with", { kind: "canceled" }, 409, null],
      ["fail_with", { kind: "type" }, 500, null],
      ["fail_with", { kind: "string" }, 500, null],
      ["echo", { text: 5 }, 422, null],
      ["read_asset", { image: { ref: "http://127.0.0.1:9/x.png" } }, 422, null],
    ];
    for (const [fn, payload, status, retryAfter] of cases) {
      const response = await post(`/v1/run/${fn}`, payload);
      const label = JSON.stringify(payload);
      expect([label, response.status, response.headers.get("retry-after")]).toEqual([
        label,
        status,
        retryAfter,
      ]);
      expect(response.body.success).toBe(false);
      expect(response.body).not.toHaveProperty("retryable");
    }
  });

  it("rejects bad JSON, bad envelopes, unknown endpoints and wrong payloads with 4xx naming the problem", async () => {
    const badJson = await post("/v1/run/echo", "{not json");
    expect(badJson.status).toBe(400);
    expect(badJson.body.error).toBe("invalid_json");
    const badEnvelope = await post("/v1/run/echo", { payload: { text: "x" }, timeout_ms: "soon" });
    expect(badEnvelope.status).toBe(400);
    // An unknown function never reaches the executor here: a 404 without a run result (the gRPC
    // worker answers a run_result with error_type "internal" instead; see worker.test.ts).
    const unknown = await post("/v1/run/nope", {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe("unknown_function");
    expect(String(unknown.body.message)).toContain("echo");
    const wrongType = await post("/v1/run/echo", { text: 5 });
    expect(wrongType.status).toBe(422);
  });

  it("answers 500 to a handler that throws or returns the wrong shape, and logs stray rejections", async () => {
    const sync = await post("/v1/run/throw_sync", {});
    expect(sync.status).toBe(500);
    const shape = await post("/v1/run/wrong_shape", {});
    expect(shape.status).toBe(500);
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
  it("answers 504 to a run that timeout_ms ended, and 409 to one canceled by request", async () => {
    const timedOut = await post("/v1/run/wait_for_cancel", { payload: { ms: 10_000 }, timeout_ms: 200 });
    expect([timedOut.status, timedOut.body.error_type]).toEqual([504, "canceled"]);
    const runId = `cancel-status-${Date.now()}`;
    const pending = post("/v1/run/wait_for_cancel", { payload: { ms: 10_000 }, run_id: runId });
    await new Promise((done) => setTimeout(done, 100));
    const cancel = await fetch(`${runner.url}/v1/runs/${runId}/cancel`, { method: "POST" });
    expect([cancel.status, await cancel.json()]).toEqual([200, { ok: true, run_id: runId }]);
    const canceled = await pending;
    expect([canceled.status, canceled.body.error_type]).toEqual([409, "canceled"]);
  });

  it("answers 413 to an oversize input", async () => {
    const { status, body } = await post("/v1/run/echo", { text: "x".repeat(4096) });
    expect(status).toBe(413);
    expect(body.error_type).toBe("validation");
  });

  it("counts the byte limits in JSON: the request body with its envelope, the output's JSON, not msgpack", async () => {
    // The envelope's own fields count: a small payload in a large envelope is refused.
    const enveloped = JSON.stringify({ payload: { text: "hi" }, user_id: "u".repeat(2100) });
    const refused = await post("/v1/run/echo", enveloped);
    expect(refused.status).toBe(413);
    expect(refused.body.error_message).toBe(
      `Input payload too large: ${Buffer.byteLength(enveloped)} bytes (max 2048)`,
    );
    // Short decimals are 4 bytes here and 9 in msgpack: accepted here, over the limit on the worker.
    const decimals = { text: "x", values: Array.from({ length: 300 }, () => 0.5) };
    expect(JSON.stringify(decimals).length).toBeLessThan(2048);
    expect(encode(decimals).byteLength).toBeGreaterThan(2048);
    expect((await post("/v1/run/echo", decimals)).status).toBe(200);
    // An escaped quote is 2 bytes of JSON and 1 of msgpack: an output the worker would send is refused here.
    const quotes = { text: '"'.repeat(300), times: 7 };
    const output = { text: Array.from({ length: 7 }, () => quotes.text).join(" "), times: 7 };
    expect(encode(output).byteLength).toBeLessThan(4096);
    const tooLarge = await post("/v1/run/echo", quotes);
    expect([tooLarge.status, tooLarge.body.error_type]).toEqual([503, "resource"]);
    expect(tooLarge.body.error_message).toBe(
      `ResourceError: Output payload too large: ${Buffer.byteLength(JSON.stringify(output))} bytes (max 4096)`,
    );
  });

  it("a full per-function limit answers 429 with Retry-After, and recovers", async () => {
    const first = post("/v1/run/single_slot", { ms: 400 });
    await new Promise((done) => setTimeout(done, 100));
    const second = await post("/v1/run/single_slot", { ms: 1 });
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBe("1");
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
    try {
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
    } finally {
      await own.stop("SIGKILL");
      await removeTenantBundles(PROJECT, own.child.pid);
      await rm(own.outputsDir, { recursive: true, force: true });
    }
  });
});
