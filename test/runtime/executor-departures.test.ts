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
import type { ManifestFunction } from "../../src/contract/manifest.js";
import type { Executor, HandlerTable } from "../../src/runtime/executor.js";
import { runtimeSettingsFromEnv } from "../../src/settings/runtime.js";
import { ASSET_DEF, DRAFT, makeExecutor, objectSchema, fn as singleOutput } from "./manifest-fixture.js";

const ANY_OBJECT = objectSchema({});

function fn(
  name: string,
  endpoint: string,
  inputSchema: Record<string, unknown> = ANY_OBJECT,
): ManifestFunction {
  return { ...singleOutput(name, inputSchema, ANY_OBJECT), endpoint_name: endpoint };
}

function executor(
  functions: ManifestFunction[],
  handlers: HandlerTable,
  env: Record<string, string> = {},
  outputsDir?: string,
): Executor {
  return makeExecutor(functions, handlers, {
    settings: runtimeSettingsFromEnv(env),
    ...(outputsDir === undefined ? {} : { outputsDir }),
  });
}

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
    Asset: ASSET_DEF,
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
