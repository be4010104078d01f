import { once } from "node:events";
import { type AddressInfo, createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { holdsWithin, sleep } from "./harness.js";
import { ChaosProxy } from "./proxy.js";

// The proxy is part of the harness: these checks make sure it fails the worker as promised and
// never helps it (a black-holed connection must stay open and silent).

const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

async function echoServer(): Promise<{ server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.pipe(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((done) => server.close(done));
  });
  return { server, sockets };
}

async function proxyTo(server: Server): Promise<ChaosProxy> {
  const proxy = await ChaosProxy.start(() => `127.0.0.1:${(server.address() as AddressInfo).port}`);
  closers.push(() => proxy.close());
  return proxy;
}

interface Client {
  socket: Socket;
  received: () => string;
  closed: () => boolean;
  error: () => string | undefined;
}

async function client(proxy: ChaosProxy): Promise<Client> {
  const [host, port] = proxy.address.split(":");
  const socket = tcpConnect({ host, port: Number(port) });
  let received = "";
  let closed = false;
  let error: string | undefined;
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString();
  });
  socket.on("error", (cause: NodeJS.ErrnoException) => {
    error = cause.code;
  });
  socket.on("close", () => {
    closed = true;
  });
  await once(socket, "connect");
  closers.push(async () => socket.destroy());
  return { socket, received: () => received, closed: () => closed, error: () => error };
}

describe("chaos proxy (harness check)", () => {
  it("forwards, and holds each chunk for the delay", async () => {
    const { server } = await echoServer();
    const proxy = await proxyTo(server);
    const peer = await client(proxy);
    peer.socket.write("a");
    expect(await holdsWithin(2_000, () => peer.received() === "a")).toBe(true);
    proxy.setDelay(300);
    const sentAt = Date.now();
    peer.socket.write("b");
    expect(await holdsWithin(3_000, () => peer.received() === "ab")).toBe(true);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(550);
  });

  it("resets both sides of live connections", async () => {
    const { server, sockets } = await echoServer();
    const proxy = await proxyTo(server);
    const peer = await client(proxy);
    await holdsWithin(2_000, () => sockets.size === 1);
    proxy.reset();
    expect(await holdsWithin(2_000, () => peer.closed() && sockets.size === 0)).toBe(true);
    expect(peer.error()).toBe("ECONNRESET");
  });

  it("black-holes: old connections stay open and silent for good, even when the far side closes; new ones work after it heals", async () => {
    const { server, sockets } = await echoServer();
    const proxy = await proxyTo(server);
    const old = await client(proxy);
    await holdsWithin(2_000, () => sockets.size === 1);
    proxy.blackHole(400);
    const during = await client(proxy);
    old.socket.write("lost");
    during.socket.write("lost");
    for (const socket of sockets) socket.destroy();
    await sleep(600);

    const after = await client(proxy);
    after.socket.write("fine");
    expect(await holdsWithin(2_000, () => after.received() === "fine")).toBe(true);
    old.socket.write("still lost");
    await sleep(300);
    expect([old.received(), old.closed(), during.received(), during.closed()]).toEqual([
      "",
      false,
      "",
      false,
    ]);
  });
});
