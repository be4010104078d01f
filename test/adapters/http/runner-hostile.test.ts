/**
 * The dev runner's HTTP server in this process, with a real executor, against requests built to
 * hurt it: huge or deep JSON, absurd timeouts, clients that hang up in the middle of a body.
 */
import type { Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDevServer } from "../../../src/adapters/http/server.js";
import type { ActionContext } from "../../../src/contract/handler-api.js";
import { fn, makeExecutor, objectSchema } from "../../runtime/manifest-fixture.js";

const functions = [
  fn("ints", objectSchema({ items: { type: "array", items: { type: "integer" } } })),
  fn("anything", objectSchema({ data: {} }, [])),
  fn("wait", objectSchema({ ms: { type: "integer" } })),
];
const handlers = {
  ints: async () => ({}),
  anything: async () => ({}),
  wait: async (ctx: ActionContext, input: { ms: number }) => {
    await new Promise((done) => setTimeout(done, input.ms));
    ctx.throwIfCanceled();
    return { waited: input.ms };
  },
};

let server: Server;
let url: string;

beforeAll(async () => {
  const executor = makeExecutor(functions, handlers);
  server = createDevServer({ executor: () => executor });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

async function post(endpoint: string, body: string) {
  const response = await fetch(`${url}/v1/run/${endpoint}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("dev runner: hostile requests", () => {
  it("answers a million wrong array items with 422 naming the value limit", async () => {
    const { status, body } = await post("ints", `{"items":[${new Array(1_000_000).fill("null").join(",")}]}`);
    expect(status).toBe(422);
    expect(body).toMatchObject({ success: false, error_type: "validation" });
    expect(body.safe_message).toMatch(/^invalid input: the payload holds more than 1,000,000 values/);
  });

  it("answers a wrong item of a long array with 422 naming its path", async () => {
    const items = new Array(100_000).fill("1");
    items[3] = '"three"';
    const { status, body } = await post("ints", `{"items":[${items.join(",")}]}`);
    expect([status, body.safe_message]).toEqual([422, "invalid input: $.items[3] must be integer"]);
  });

  it("answers JSON nested 100,000 deep with 422 naming the depth limit", async () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const { status, body } = await post("anything", `{"data":${deep}}`);
    expect(status).toBe(422);
    expect(body.safe_message).toMatch(/deeper than 64 levels \(the limit\), at \$\.data\[0\]/);
  });

  it("runs with timeout_ms of 2^31 or 1e308 instead of timing out at once", async () => {
    for (const timeout of ["2147483648", "1e308"]) {
      const { status, body } = await post("wait", `{"payload":{"ms":30},"timeout_ms":${timeout}}`);
      expect([timeout, status, body.output]).toEqual([timeout, 200, { waited: 30 }]);
    }
  });

  it("refuses a timeout_ms that is not finite with 400 saying so", async () => {
    // 1e400 is valid JSON; it parses to Infinity.
    const { status, body } = await post("wait", `{"payload":{"ms":1},"timeout_ms":1e400}`);
    expect(status).toBe(400);
    expect(body).toEqual({
      error: "invalid_envelope",
      message:
        "$.timeout_ms must be a finite number of milliseconds, 0 or more (0 or absent: no timeout), got Infinity",
    });
  });

  it("says nothing, and keeps serving, when a client hangs up in the middle of its body", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    try {
      for (let client = 0; client < 3; client++) {
        const closed = new Promise<void>((done) => server.once("connection", (s) => s.once("close", done)));
        const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
        await new Promise<void>((done) => socket.once("connect", done));
        socket.write(
          'POST /v1/run/anything HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"data":',
        );
        await new Promise((done) => setTimeout(done, 20));
        socket.destroy();
        await closed;
      }
      const after = await post("anything", "{}");
      expect(after.status).toBe(200);
      await new Promise((done) => setImmediate(done));
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
