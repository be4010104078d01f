/**
 * The Python SDK dev runner's model routes (gen-worker 0.2.1) on
 * `cozy-worker run --local`: GET /v1/models/status, POST /v1/models/{load,unload,prefetch} and
 * POST /v1/warmup/{fn}, through a real runner with real (tiny) models served by the loopback hub.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResponse } from "../../src/adapters/http/client.js";
import type { FakeHfHub } from "../support/fake-hf-hub.js";
import { stopHubWithCache } from "../support/hub-repos.js";
import { cpuModelsEnv, MLP_X, MODELS_PROJECT, startModelsHub, VAD_AUDIO } from "../support/model-repos.js";
import { REPO_ROOT, type RunnerProcess, startRunner } from "../support/runner-process.js";

let root: string;
let cacheDir: string;
let hub: FakeHfHub;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(runner: RunnerProcess, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${runner.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

async function modelCache(runner: RunnerProcess): Promise<Record<string, unknown>> {
  const { status, body } = await call(runner, "GET", "/v1/models/status");
  expect(status).toBe(200);
  expect(body.ok).toBe(true);
  return body.model_cache as Record<string, unknown>;
}

const TINY = "hf:test/tiny";
const VAD = "hf:test/silero-vad";

beforeAll(async () => {
  ({ root, cacheDir, hub } = await startModelsHub("runner-routes"));
});

afterAll(async () => {
  await stopHubWithCache({ root, cacheDir, hub });
});

describe("dev runner model routes, on a project with models", () => {
  let runner: RunnerProcess;

  beforeAll(async () => {
    runner = await startRunner(MODELS_PROJECT, cpuModelsEnv(hub, cacheDir));
  });

  afterAll(async () => {
    await runner?.stop(); // also removes its outputs folder
  });

  it("GET /v1/models/status answers {ok, model_cache} with the /v1/status state; other methods are 405", async () => {
    const cache = await modelCache(runner);
    expect(cache).toMatchObject({ vram_models: [], disk_models: [], pinned_models: [], device: "cpu" });
    const status = await call(runner, "GET", "/v1/status");
    expect(status.body.model_cache).toEqual(cache);
    const post = await call(runner, "POST", "/v1/models/status", {});
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
  });

  it("POST /v1/models/prefetch downloads to disk only, one result per model, failures named", async () => {
    const { status, body } = await call(runner, "POST", "/v1/models/prefetch", {
      models: [TINY, "hf:test/nope", "  ", "tiny"],
    });
    expect(status).toBe(200);
    const results = body.results as Record<string, unknown>[];
    expect(results).toHaveLength(3);
    expect(results[0]).toEqual({ model_id: TINY, ok: true, duration_ms: expect.any(Number) });
    expect(results[1]).toMatchObject({ model_id: "hf:test/nope", ok: false, error_type: "HfNotFoundError" });
    expect(results[1]?.error_message).toContain("model hf:test/nope was not found");
    expect(results[1]?.duration_ms).toEqual(expect.any(Number));
    expect(results[2]).toMatchObject({ model_id: "tiny", ok: false, error_type: "ModelRefError" });
    expect(results[2]?.error_message).toContain(`"tiny" is a key of cozy.toml: send its ref, "${TINY}"`);
    const cache = await modelCache(runner);
    expect(cache).toMatchObject({ disk_models: [TINY], vram_models: [] });
  });

  it("POST /v1/models/prefetch refuses bodies without a list of refs with 400", async () => {
    const cases: [unknown, string][] = [
      [{}, "missing_models"],
      [{ models: [] }, "missing_models"],
      [{ models: ["", " "] }, "missing_models"],
      [{ models: TINY }, "invalid_models"],
      [{ models: [TINY, 3] }, "invalid_models"],
      [[TINY], "invalid_body"],
      ["{not json", "invalid_json"],
    ];
    for (const [body, error] of cases) {
      const answer = await call(runner, "POST", "/v1/models/prefetch", body);
      expect({ body, status: answer.status, error: answer.body.error }).toEqual({ body, status: 400, error });
      expect(answer.body.message).toEqual(expect.any(String));
    }
    const invalid = await call(runner, "POST", "/v1/models/prefetch", { models: [TINY, 3] });
    expect(invalid.body.message).toBe(
      'models[1] must be a model ref string such as "hf:owner/repo", got number 3',
    );
  });

  it("POST /v1/models/load loads a model (not pinned); a missing repo is 422 with the reason", async () => {
    const loaded = await call(runner, "POST", "/v1/models/load", { model_id: ` ${TINY} ` });
    expect(loaded.status).toBe(200);
    expect(loaded.body).toEqual({
      ok: true,
      error_message: "",
      model_id: TINY,
      duration_ms: expect.any(Number),
    });
    expect(await modelCache(runner)).toMatchObject({ vram_models: [TINY], pinned_models: [] });

    const missing = await call(runner, "POST", "/v1/models/load", { model_id: "hf:test/nope" });
    expect(missing.status).toBe(422);
    expect(missing.body).toMatchObject({ ok: false, error_type: "fatal", model_id: "hf:test/nope" });
    expect(missing.body.error_message).toContain("model hf:test/nope was not found");
    expect(missing.body.error_message).toContain("HF_ENDPOINT");
  });

  it("POST /v1/models/load and /unload answer a missing or invalid model_id with 400", async () => {
    for (const action of ["load", "unload"]) {
      const none = await call(runner, "POST", `/v1/models/${action}`, {});
      expect(none.status).toBe(400);
      expect(none.body).toEqual({
        error: "missing_model_id",
        message: 'name the model: send {"model_id": "hf:owner/repo"}',
      });
      expect((await call(runner, "POST", `/v1/models/${action}`, { model_id: "  " })).body.error).toBe(
        "missing_model_id",
      );
      const key = await call(runner, "POST", `/v1/models/${action}`, { model_id: "tiny" });
      expect(key.status).toBe(400);
      expect(key.body.error).toBe("invalid_model_id");
      expect(key.body.message).toContain(`"tiny" is a key of cozy.toml: send its ref, "${TINY}"`);
      const number = await call(runner, "POST", `/v1/models/${action}`, { model_id: 7 });
      expect(number.status).toBe(400);
      expect(number.body.message).toBe('model_id must be a string such as "hf:owner/repo", got number 7');
      expect((await call(runner, "POST", `/v1/models/${action}`, "{")).body.error).toBe("invalid_json");
      expect((await call(runner, "GET", `/v1/models/${action}`)).status).toBe(405);
    }
  });

  it("POST /v1/models/unload refuses a model a run uses (409 model_in_use), unloads it after, then 404", async () => {
    const run = fetch(`${runner.url}/v1/run/hold`, {
      method: "POST",
      body: JSON.stringify({ x: MLP_X, ms: 1500 }),
    });
    const deadline = Date.now() + 15_000;
    while (!((await modelCache(runner)).pinned_models as string[]).includes(TINY)) {
      if (Date.now() > deadline) throw new Error("the hold run never pinned the model");
      await sleep(20);
    }
    const refused = await call(runner, "POST", "/v1/models/unload", { model_id: TINY });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ ok: false, error_message: "model_in_use", model_id: TINY });
    expect(refused.body.message).toBe(
      `cannot unload model ${TINY}: it is in use by 1 run: unload it once those runs have finished`,
    );
    expect(((await (await run).json()) as RunResponse).success).toBe(true);

    const unloaded = await call(runner, "POST", "/v1/models/unload", { model_id: TINY });
    expect(unloaded.status).toBe(200);
    expect(unloaded.body).toEqual({ ok: true, error_message: "", model_id: TINY });
    expect((await modelCache(runner)).vram_models).not.toContain(TINY);

    const again = await call(runner, "POST", "/v1/models/unload", { model_id: TINY });
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ ok: false, error_message: "model_not_loaded", model_id: TINY });
    expect(again.body.message).toContain(`model ${TINY} is not loaded, so there is nothing to unload`);
  });

  it("POST /v1/warmup/{fn} loads the function's models, unpinned, so the next run is hot", async () => {
    const warm = await call(runner, "POST", "/v1/warmup/vad", "");
    expect(warm.status).toBe(200);
    expect(warm.body).toEqual({
      ok: true,
      run_id: expect.any(String),
      duration_ms: expect.any(Number),
      models: [VAD],
    });
    expect(await modelCache(runner)).toMatchObject({ pinned_models: [] });
    expect((await modelCache(runner)).vram_models).toContain(VAD);

    const response = await fetch(`${runner.url}/v1/run/vad`, {
      method: "POST",
      body: JSON.stringify({ audio: VAD_AUDIO }),
    });
    const result = (await response.json()) as RunResponse;
    expect(result.success).toBe(true);
    expect(result.events.find((e) => e.event_type === "metrics.run")?.payload).toMatchObject({
      cache_state: "hot_vram",
    });
  });

  it("POST /v1/warmup/{fn} takes the run envelope: the payload picks PayloadModel keys, run_id is echoed", async () => {
    const warm = await call(runner, "POST", "/v1/warmup/pick", {
      payload: { model: "tiny-b", x: [] },
      run_id: "warm-1",
    });
    expect(warm.status).toBe(200);
    expect(warm.body).toMatchObject({ ok: true, run_id: "warm-1", models: ["hf:test/tiny-b"] });
    expect((await modelCache(runner)).vram_models).toContain("hf:test/tiny-b");
  });

  it("POST /v1/warmup/{fn} answers a bad payload key with 422, an unknown function with 404, a bad envelope with 400", async () => {
    const noField = await call(runner, "POST", "/v1/warmup/pick", { x: [] });
    expect(noField.status).toBe(422);
    expect(noField.body).toMatchObject({
      ok: false,
      models: [],
      error_type: "validation",
      error_message: "missing payload field for model selection: 'model'",
    });
    const badKey = await call(runner, "POST", "/v1/warmup/pick", { model: "huge", x: [] });
    expect(badKey.status).toBe(422);
    expect(badKey.body.error_message).toContain("allowed keys: [det, tiny, tiny-b, tiny-c, vad]");

    const unknown = await call(runner, "POST", "/v1/warmup/nope", {});
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({
      error: "unknown_function",
      message: "unknown function 'nope': this project has detect, hold, mlp, pick, vad",
    });
    const envelope = await call(runner, "POST", "/v1/warmup/vad", { payload: {}, timeout_ms: -1 });
    expect(envelope.status).toBe(400);
    expect(envelope.body.error).toBe("invalid_envelope");
    expect((await call(runner, "POST", "/v1/warmup/vad", "{")).body.error).toBe("invalid_json");
    expect((await call(runner, "GET", "/v1/warmup/vad")).status).toBe(405);
  });
});

describe("dev runner model routes, on a project without models", () => {
  let runner: RunnerProcess;

  beforeAll(async () => {
    runner = await startRunner(join(REPO_ROOT, "test/projects/runner"), cpuModelsEnv(hub, cacheDir));
  });

  afterAll(async () => {
    await runner?.stop(); // also removes its outputs folder
  });

  it("has no model host until a route needs one: status is empty, warm-up has nothing to load, unload nothing", async () => {
    expect(await modelCache(runner)).toEqual({});
    const warm = await call(runner, "POST", "/v1/warmup/echo", { text: "hi" });
    expect(warm.status).toBe(200);
    expect(warm.body).toMatchObject({ ok: true, models: [] });
    const unload = await call(runner, "POST", "/v1/models/unload", { model_id: TINY });
    expect(unload.status).toBe(404);
    expect(unload.body).toMatchObject({ ok: false, error_message: "model_not_loaded" });
    expect(await modelCache(runner)).toEqual({});
  });

  it("creates the model host for a load, and /v1/status shows it", async () => {
    const loaded = await call(runner, "POST", "/v1/models/load", { model_id: "hf:test/tiny-c" });
    expect(loaded.body).toMatchObject({ ok: true, model_id: "hf:test/tiny-c" });
    expect(await modelCache(runner)).toMatchObject({ vram_models: ["hf:test/tiny-c"], device: "cpu" });
    const status = await call(runner, "GET", "/v1/status");
    expect(status.body.model_cache).toMatchObject({ vram_models: ["hf:test/tiny-c"] });
  });
});
