/**
 * Executor behaviours that depart from the Python SDK (gen-worker 0.2.1) on purpose, as listed in
 * docs/differences.md and not already pinned elsewhere.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ActionContext } from "../../src/contract/handler-api.js";
import type { Manifest, ManifestFunction } from "../../src/contract/manifest.js";
import { Executor, type HandlerTable } from "../../src/runtime/executor.js";
import { runtimeSettingsFromEnv } from "../../src/settings/runtime.js";

const DRAFT = "https://json-schema.org/draft/2020-12/schema";
const ANY_OBJECT = { $schema: DRAFT, type: "object", properties: {}, required: [] };

function fn(
  name: string,
  endpoint: string,
  inputSchema: Record<string, unknown> = ANY_OBJECT,
): ManifestFunction {
  return {
    name,
    endpoint_name: endpoint,
    module: "src/main.ts",
    resources: {},
    payload_type: { module: "src/main.ts", qualname: "Input" },
    payload_schema_sha256: "",
    input_schema: inputSchema,
    output_mode: "single",
    output_type: { module: "src/main.ts", qualname: "Output" },
    output_schema_sha256: "",
    output_schema: ANY_OBJECT,
    incremental_output: false,
    injection_json: [],
    required_models: [],
    payload_repo_selectors: [],
    export: name,
  };
}

function executor(
  functions: ManifestFunction[],
  handlers: HandlerTable,
  env: Record<string, string> = {},
  outputsDir?: string,
): Executor {
  const manifest: Manifest = {
    project_name: "test",
    functions,
    runtime: { language: "typescript", node: ">=20.19.0", gen_worker: "0.1.0", main: "src/main.ts" },
  };
  return new Executor({
    manifest,
    handlers,
    settings: runtimeSettingsFromEnv(env),
    ...(outputsDir === undefined ? {} : { outputsDir }),
  });
}

const NULLABLE_STRING = { anyOf: [{ type: "string" }, { type: "null" }] };
/** A payload `{file: Asset}`, as discovery writes it. */
const ASSET_INPUT = {
  $schema: DRAFT,
  $ref: "#/$defs/Input",
  $defs: {
    Input: {
      title: "Input",
      type: "object",
      properties: { file: { $ref: "#/$defs/Asset" } },
      required: ["file"],
    },
    Asset: {
      title: "Asset",
      type: "object",
      properties: {
        ref: { type: "string", minLength: 1 },
        owner: NULLABLE_STRING,
        local_path: NULLABLE_STRING,
        mime_type: NULLABLE_STRING,
        size_bytes: { anyOf: [{ type: "integer", minimum: 0 }, { type: "null" }] },
        sha256: NULLABLE_STRING,
      },
      required: ["ref"],
    },
  },
};

const task = (runId: string, functionName: string, payload: unknown, timeoutMs?: number) => ({
  runId,
  functionName,
  payload,
  payloadBytes: JSON.stringify(payload).length,
  ...(timeoutMs === undefined ? {} : { timeoutMs }),
});

describe("executor departures from the Python SDK", () => {
  it("answers to the endpoint slug as well as the function name (the Python SDK knew only the name)", async () => {
    const exec = executor([fn("make_card", "make-card")], { make_card: async () => ({ ok: true }) });
    expect(await exec.run(task("by-name", "make_card", {}))).toMatchObject({
      success: true,
      output: { ok: true },
    });
    expect(await exec.run(task("by-slug", "make-card", {}))).toMatchObject({
      success: true,
      functionName: "make_card",
    });
  });

  it("hands the handler payload properties its type does not declare (the Python SDK dropped them)", async () => {
    const schema = {
      $schema: DRAFT,
      $ref: "#/$defs/Input",
      $defs: {
        Input: {
          title: "Input",
          type: "object",
          properties: { text: { type: "string" } },
          required: ["text"],
        },
      },
    };
    let seen: unknown;
    const exec = executor([fn("echo", "echo", schema)], {
      echo: async (_ctx: ActionContext, input: unknown) => {
        seen = input;
        return {};
      },
    });
    const result = await exec.run(task("extra", "echo", { text: "hi", extra: 1 }));
    expect(result.success).toBe(true);
    expect(seen).toEqual({ text: "hi", extra: 1 });
  });

  it("ends a run whose handler never looks at cancellation, on a cancel and on timeout_ms (the Python SDK only flagged it)", async () => {
    const exec = executor([fn("hang", "hang")], { hang: () => new Promise(() => {}) });
    const pending = exec.run(task("cancel-me", "hang", {}));
    await new Promise((done) => setTimeout(done, 20));
    expect(exec.cancel("cancel-me")).toBe(true);
    expect(await pending).toMatchObject({ success: false, errorType: "canceled", safeMessage: "canceled" });

    const started = Date.now();
    const timedOut = await exec.run(task("time-me", "hang", {}, 100));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(timedOut).toMatchObject({
      success: false,
      errorType: "canceled",
      safeMessage: "canceled",
      errorMessage: "CanceledError: run timed out after 100 ms",
      timedOut: true,
    });
  });

  it("fails a run whose output or input file is over its size cap as resource (the Python SDK said validation)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "size-caps-"));
    const server = createServer((_req, res) => res.end(Buffer.alloc(5000)));
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const port = (server.address() as AddressInfo).port;
    try {
      const exec = executor(
        [fn("save", "save"), fn("read", "read", ASSET_INPUT)],
        {
          save: async (ctx: ActionContext) => ({ file: await ctx.saveBytes("big.bin", new Uint8Array(200)) }),
          read: async () => ({}),
        },
        {
          WORKER_MAX_OUTPUT_FILE_BYTES: "100",
          WORKER_MAX_INPUT_FILE_BYTES: "100",
          WORKER_INPUT_URL_ALLOW_HOSTS: `127.0.0.1:${port}`,
          WORKER_RUN_DIR: join(dir, "runs"),
        },
        join(dir, "outputs"),
      );
      const saved = await exec.run(task("save-big", "save", {}));
      expect(saved).toMatchObject({ success: false, errorType: "resource", retryable: false });
      expect(saved.errorMessage).toBe("ResourceError: output file too large (200 bytes, max 100)");
      const read = await exec.run(
        task("read-big", "read", { file: { ref: `http://127.0.0.1:${port}/big.bin` } }),
      );
      expect(read).toMatchObject({ success: false, errorType: "resource", retryable: false });
      expect(read.errorMessage).toContain("input file too large");
    } finally {
      await new Promise((done) => server.close(done));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
