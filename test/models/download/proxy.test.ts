/**
 * Model pulls through an HTTP proxy named by the environment (HTTP_PROXY, NO_PROXY): a real
 * CONNECT proxy on loopback in front of the fake hub, and the built CLI.
 */

import { createServer, type IncomingMessage } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cli } from "../../support/cli.js";
import type { FakeHfHub } from "../../support/fake-hf-hub.js";
import { startHubWithCache, stopHubWithCache, writeOnnxRepo } from "../../support/hub-repos.js";

let root: string;
let cacheDir: string;
let hub: FakeHfHub;
let proxy: { url: string; tunnels: string[]; close(): Promise<void> };

/** A forward proxy that only tunnels (CONNECT), recording each target. */
async function startConnectProxy(): Promise<typeof proxy> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? "");
    const [host = "", port] = (req.url ?? "").split(":");
    // Names under .invalid exist only for this proxy: nothing can reach them directly.
    const upstream = connect(Number(port), host.endsWith(".invalid") ? "127.0.0.1" : host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

beforeEach(async () => {
  ({ root, cacheDir, hub } = await startHubWithCache("proxy", (dir) => writeOnnxRepo(dir, "acme/tiny")));
  proxy = await startConnectProxy();
});

afterEach(async () => {
  await proxy.close();
  await stopHubWithCache({ root, cacheDir, hub });
});

function pull(proxyEnv: NodeJS.ProcessEnv, endpoint = hub.endpoint) {
  const env: NodeJS.ProcessEnv = {
    HF_TOKEN: undefined,
    HF_ENDPOINT: endpoint,
    WORKER_MODEL_CACHE_DIR: cacheDir,
    http_proxy: undefined,
    https_proxy: undefined,
    no_proxy: undefined,
    HTTP_PROXY: undefined,
    HTTPS_PROXY: undefined,
    NO_PROXY: undefined,
    ...proxyEnv,
  };
  return cli(["models", "pull", "hf:acme/tiny"], env);
}

describe("model pulls and proxies", () => {
  it("go through the proxy HTTP_PROXY names, API calls and files alike", async () => {
    // A hub name only the proxy can resolve: the pull succeeds only if every request went through it.
    const endpoint = new URL(hub.endpoint);
    endpoint.hostname = "hub.proxy-only.invalid";
    const result = await pull({ HTTP_PROXY: proxy.url }, endpoint.origin);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(0);
    expect(proxy.tunnels.length).toBeGreaterThanOrEqual(1);
    expect(new Set(proxy.tunnels)).toEqual(new Set([endpoint.host]));
  });

  it("skip the proxy for hosts in NO_PROXY", async () => {
    const result = await pull({ HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" });
    expect(result.code).toBe(0);
    expect(proxy.tunnels).toEqual([]);
  });

  it("fail with a clear message when the proxy cannot be reached", async () => {
    const result = await pull({ HTTP_PROXY: "http://127.0.0.1:9" });
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr).toMatch(
      /^error: cannot reach the Hugging Face hub at \S+ \(through the proxy that HTTP_PROXY or HTTPS_PROXY names\): .*ECONNREFUSED.*set HF_ENDPOINT/m,
    );
  });
});
