/**
 * A realtime handler's models, bound as the Python SDK binds them: injection i from
 * `required_variant_refs[i]` (a key of the keyspace or a model ref), then the release allowlist, through
 * the real model host with real ONNX sessions (the tiny MLP of test/projects/models, served by a
 * loopback Hugging Face hub).
 */
import { Tensor } from "onnxruntime-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActionContext, Model, RealtimeSocket } from "../../src/contract/handler-api.js";
import type { Manifest } from "../../src/contract/manifest.js";
import type { RealtimeCloseReason } from "../../src/contract/realtime.js";
import { discover } from "../../src/discovery/discover.js";
import { createModelHost, type ModelHost } from "../../src/models/host/model-host.js";
import { GIB } from "../../src/models/sessions/device-cache.js";
import { RealtimeHost } from "../../src/runtime/realtime/host.js";
import type { SessionEnd } from "../../src/runtime/realtime/session.js";
import { modelSettingsFromEnv } from "../../src/settings/models.js";
import { runtimeSettingsFromEnv } from "../../src/settings/runtime.js";
import type { FakeHfHub } from "../support/fake-hf-hub.js";
import { stopHubWithCache } from "../support/hub-repos.js";
import { cpuModelsEnv, MLP_X, MODELS_PROJECT, startModelsHub } from "../support/model-repos.js";
import { tinyModelExpected } from "../support/onnx/tiny-model.js";

let root: string;
let cacheDir: string;
let hub: FakeHfHub;
let models: ModelHost;
let host: RealtimeHost;
const ends: SessionEnd[] = [];

/** Runs the injected MLP once and reports what it was given. */
async function infer(_ctx: ActionContext, socket: RealtimeSocket, model: Model<"tiny">): Promise<void> {
  const out = await model.session.run({ X: new Tensor("float32", Float32Array.from(MLP_X), [2, 4]) });
  socket.sendJson({ key: model.key, ref: model.ref, y: Array.from(out.Y?.data as Float32Array) });
}

/** Opens a session of `infer` and resolves with its frames and close reason. */
function session(requiredModels?: string[]): Promise<{ frames: unknown[]; reason: RealtimeCloseReason }> {
  const frames: unknown[] = [];
  return new Promise((resolve) => {
    host.open(
      {
        sessionId: `s-${ends.length}-${Math.random().toString(36).slice(2)}`,
        functionName: "infer",
        ...(requiredModels ? { requiredModels } : {}),
      },
      {
        sendFrame: (data) => frames.push(JSON.parse(new TextDecoder().decode(data))),
        close: (reason) => resolve({ frames, reason }),
      },
    );
  });
}

beforeAll(async () => {
  ({ root, cacheDir, hub } = await startModelsHub("realtime"));
  const keyspace = (await discover(MODELS_PROJECT)).manifest.models_by_function?.mlp ?? {};
  const manifest: Manifest = {
    project_name: "realtime-models",
    functions: [],
    realtime_functions: [
      {
        name: "infer",
        endpoint_name: "infer",
        module: "src/main.ts",
        export: "infer",
        socket_param: "socket",
        injection_json: [
          { param: "model", type: "gen-worker.Model", model_ref: { source: "fixed", key: "tiny" } },
        ],
        required_models: ["tiny"],
      },
    ],
    models_by_function: { infer: keyspace },
    runtime: { language: "typescript", node: ">=20", gen_worker: "*", main: "src/main.ts" },
  };
  models = createModelHost({
    settings: modelSettingsFromEnv(cpuModelsEnv(hub, cacheDir)),
    machine: { memoryBytes: 8 * GIB },
    log: pino({ level: "silent" }),
    manifest,
  });
  host = new RealtimeHost({
    manifest,
    handlers: { infer },
    settings: runtimeSettingsFromEnv({}),
    models,
    onSessionEnd: (end) => ends.push(end),
  });
});

afterAll(async () => {
  await models?.close();
  await stopHubWithCache({ root, cacheDir, hub });
});

const expected = () => Array.from(tinyModelExpected(MLP_X));

describe("binding a realtime handler's models", () => {
  it("without required_variant_refs (the dev runner), binds the key the parameter names", async () => {
    const { frames, reason } = await session();
    expect(reason).toBe("completed");
    expect(frames).toEqual([{ key: "tiny", ref: "hf:test/tiny", y: expected() }]);
  });

  it("binds injection i from required_variant_refs[i]: a key of the keyspace", async () => {
    const { frames, reason } = await session(["tiny-b"]);
    expect(reason).toBe("completed");
    expect(frames).toEqual([{ key: "tiny-b", ref: "hf:test/tiny-b", y: expected() }]);
  });

  it("binds a model ref under the parameter's own key", async () => {
    const { frames, reason } = await session(["hf:test/tiny-c"]);
    expect(reason).toBe("completed");
    expect(frames).toEqual([{ key: "tiny", ref: "hf:test/tiny-c", y: expected() }]);
  });

  it("closes with error:ValidationError when the entry is missing, naming the parameter", async () => {
    const { frames, reason } = await session([]);
    expect(reason).toBe("error:ValidationError");
    expect(frames).toEqual([]);
    await new Promise((done) => setTimeout(done, 10));
    expect(ends.at(-1)?.failure?.errorMessage).toMatch(
      /required_variant_refs has no entry 0 for model parameter 'model' \(Model<"tiny">\): the scheduler must send one model ref or key per injected model/,
    );
  });

  it("applies the release allowlist, as for runs", async () => {
    models.setRelease({ refByKey: {}, allowed: ["hf:test/tiny"] });
    try {
      const refused = await session(["tiny-b"]);
      expect(refused.reason).toBe("error:ValidationError");
      await new Promise((done) => setTimeout(done, 10));
      expect(ends.at(-1)?.failure?.errorMessage).toContain(
        "model hf:test/tiny-b (key 'tiny-b') is not allowed",
      );
      expect((await session(["tiny"])).reason).toBe("completed");
    } finally {
      models.setRelease({ refByKey: {}, allowed: [] });
    }
  });

  it("refuses a key the keyspace does not define, listing the keys", async () => {
    const { reason } = await session(["nope"]);
    expect(reason).toBe("error:FatalError");
    await new Promise((done) => setTimeout(done, 10));
    expect(ends.at(-1)?.failure?.errorMessage).toMatch(
      /injects model key 'nope', which its keyspace does not define/,
    );
  });
});
