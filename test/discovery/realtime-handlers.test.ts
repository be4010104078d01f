/**
 * Realtime handlers in discovery: `(ctx: ActionContext, socket: RealtimeSocket, ...models)`, async, no
 * payload. They go to the manifest's TypeScript-only `realtime_functions`, never to `functions`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discover } from "../../src/discovery/discover.js";
import { DiscoveryError } from "../../src/discovery/problems.js";
import { writeSourceProject } from "../support/source-project.js";

let root: string;

/** A project in a new folder under `root` with this `src/main.ts`; returns its folder. */
function project(name: string, main: string[]): Promise<string> {
  return writeSourceProject(root, name, main, { vad: "hf:acme/vad" });
}

async function problems(dir: string): Promise<string[]> {
  const error = await discover(dir).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(DiscoveryError);
  return (error as DiscoveryError).problems.map((problem) => problem.message);
}

const IMPORTS = 'import type { ActionContext, Model, PayloadModel, RealtimeSocket } from "gen-worker";';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "realtime-handlers-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("realtime handlers", () => {
  it("lists them under realtime_functions with their injections and keyspace, not under functions", async () => {
    const dir = await project("ok", [
      IMPORTS,
      "/** Detects speech as it streams. @endpoint live-vad */",
      'export async function stream(ctx: ActionContext, socket: RealtimeSocket, vad: Model<"vad">): Promise<void> {}',
      "export const echo = async (_ctx: ActionContext, sock: RealtimeSocket) => {",
      "  for await (const frame of sock) sock.send(frame);",
      "};",
      "export async function add(ctx: ActionContext, input: { a: number }): Promise<{ a: number }> {",
      "  return input;",
      "}",
    ]);
    const { manifest, warnings } = await discover(dir);
    expect(warnings).toEqual([]);
    expect(manifest.functions.map((fn) => fn.name)).toEqual(["add"]);
    expect(manifest.realtime_functions).toEqual([
      {
        name: "stream",
        endpoint_name: "live-vad",
        module: "src/main.ts",
        export: "stream",
        socket_param: "socket",
        injection_json: [
          { param: "vad", type: "gen-worker.Model", model_ref: { source: "fixed", key: "vad" } },
        ],
        required_models: ["vad"],
        description: "Detects speech as it streams.",
      },
      {
        name: "echo",
        endpoint_name: "echo",
        module: "src/main.ts",
        export: "echo",
        socket_param: "sock",
        injection_json: [],
        required_models: [],
      },
    ]);
    expect(Object.keys(manifest.models_by_function ?? {}).sort()).toEqual(["add", "echo", "stream"]);
  });

  it("leaves realtime_functions out of a project without realtime handlers", async () => {
    const dir = await project("none", [
      IMPORTS,
      "export async function add(ctx: ActionContext, input: { a: number }): Promise<{ a: number }> {",
      "  return input;",
      "}",
    ]);
    expect("realtime_functions" in (await discover(dir)).manifest).toBe(false);
  });

  it("refuses the socket elsewhere than second, a payload, a PayloadModel, a sync handler and an unknown key", async () => {
    const dir = await project("bad", [
      IMPORTS,
      'export async function late(ctx: ActionContext, vad: Model<"vad">, socket: RealtimeSocket): Promise<void> {}',
      "export async function payload(ctx: ActionContext, socket: RealtimeSocket, input: { a: number }): Promise<void> {}",
      'export async function picked(ctx: ActionContext, socket: RealtimeSocket, m: PayloadModel<"model">): Promise<void> {}',
      "export function sync(ctx: ActionContext, socket: RealtimeSocket): void {}",
      'export async function unknownKey(ctx: ActionContext, socket: RealtimeSocket, m: Model<"nope">): Promise<void> {}',
    ]);
    expect(await problems(dir)).toEqual([
      "realtime handler 'late' takes RealtimeSocket as parameter 3: it must be the second parameter, (ctx: ActionContext, socket: RealtimeSocket, ...models)",
      "realtime handler 'payload': parameter 'input' has type { a: number; }, but a realtime handler takes no payload (its input arrives as frames); after the socket, realtime handlers take only model injections: `input: Model<\"key\">`",
      "realtime handler 'picked': 'm' is a PayloadModel, but a realtime session has no payload to pick a model from: inject `m: Model<\"key\">` (the scheduler binds the model through required_variant_refs)",
      "realtime handler 'sync' must be async: write `export async function sync(ctx: ActionContext, socket: RealtimeSocket, ...models): Promise<void>`",
      "endpoint 'unknownkey' requires model key 'nope', which cozy.toml does not define: add `nope = \"hf:owner/repo\"` to [models] (defined keys: vad)",
    ]);
  });

  it("counts realtime endpoints in endpoint collisions", async () => {
    const dir = await project("collide", [
      IMPORTS,
      "export async function fooBar(ctx: ActionContext, input: { a: number }): Promise<{ a: number }> {",
      "  return input;",
      "}",
      "export async function foobar(ctx: ActionContext, socket: RealtimeSocket): Promise<void> {}",
    ]);
    expect((await problems(dir))[0]).toMatch(/multiple functions normalize to the same endpoint 'foobar'/);
  });
});
