/**
 * `GET /v1/functions` (each function's schemas, for `cozy-worker invoke`) and the dev runner's own
 * advice when a run needs a file API it does not have.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createDevServer, type DevServerOptions } from "../../../src/adapters/http/server.js";
import type { ManifestFunction } from "../../../src/contract/manifest.js";
import {
  DEV_RUNNER_FILE_API_MESSAGE,
  FILE_API_REQUIRED_MESSAGE,
} from "../../../src/runtime/files/file-api.js";
import { ASSET_DEF, DRAFT, fn, makeExecutor } from "../../runtime/manifest-fixture.js";

const ASSET_INPUT = {
  $schema: DRAFT,
  $ref: "#/$defs/In",
  $defs: {
    In: { type: "object", properties: { image: { $ref: "#/$defs/Asset" } }, required: ["image"] },
    Asset: ASSET_DEF,
  },
};

const functions: ManifestFunction[] = [
  {
    ...fn("greet", { $schema: DRAFT, type: "object", properties: { name: { type: "string" } } }),
    description: "Say hello.",
  },
  { ...fn("read_image", ASSET_INPUT), output_mode: "incremental", incremental_output: true },
];
const handlers = {
  greet: async () => ({}),
  read_image: async function* () {
    yield {};
  },
};

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((done) => server?.close(done));
  server = undefined;
});

async function serve(options: Partial<DevServerOptions> = {}): Promise<string> {
  const executor = makeExecutor(functions, handlers);
  server = createDevServer({ executor: () => executor, ...options });
  await new Promise<void>((done) => server?.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("GET /v1/functions", () => {
  it("lists each function's name, endpoint, description, mode and schemas, by name", async () => {
    const url = await serve({ functions: () => [...functions].reverse() });
    const response = await fetch(`${url}/v1/functions`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    const body = (await response.json()) as { functions: Record<string, unknown>[] };
    expect(body.functions.map((entry) => Object.keys(entry))).toEqual([
      ["name", "endpoint", "description", "streaming", "input_schema", "output_schema"],
      ["name", "endpoint", "description", "streaming", "input_schema", "output_schema"],
    ]);
    expect(body.functions).toEqual([
      {
        name: "greet",
        endpoint: "greet",
        description: "Say hello.",
        streaming: false,
        input_schema: functions[0]?.input_schema,
        output_schema: functions[0]?.output_schema,
      },
      {
        name: "read_image",
        endpoint: "read-image",
        description: null,
        streaming: true,
        input_schema: ASSET_INPUT,
        output_schema: functions[1]?.output_schema,
      },
    ]);
  });

  it("answers 405 with Allow: GET to another method", async () => {
    const url = await serve({ functions: () => functions });
    const response = await fetch(`${url}/v1/functions`, { method: "POST" });
    expect([response.status, response.headers.get("allow")]).toEqual([405, "GET"]);
  });

  it("is a 404 on a server that was given no functions to list", async () => {
    const url = await serve();
    const response = await fetch(`${url}/v1/functions`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: "not_found" });
  });
});

describe("dev runner: an input file without a file API", () => {
  it("says to start the runner with --files, in the result and in the stream's error event", async () => {
    const url = await serve();
    const response = await fetch(`${url}/v1/run/read_image`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ image: { ref: "a.png" } }),
    });
    expect(response.status).toBe(422);
    const body = (await response.json()) as {
      safe_message: string;
      error_message: string;
      events: { event_type: string; payload: { message?: string } }[];
    };
    expect(body.safe_message).toBe(`input asset at $.image: ${DEV_RUNNER_FILE_API_MESSAGE}`);
    expect(body.error_message).toBe(
      `ValidationError: input asset at $.image: ${DEV_RUNNER_FILE_API_MESSAGE}`,
    );
    const error = body.events.find((event) => event.event_type === "output.error");
    expect(error?.payload.message).toBe(body.safe_message);
    expect(JSON.stringify(body)).not.toContain(FILE_API_REQUIRED_MESSAGE);
  });
});
