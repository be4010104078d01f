import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { SchedulerServer } from "../../../src/dev/scheduler-server.js";
import { REPO_ROOT, removeTenantBundles } from "../../support/runner-process.js";
import {
  decodeOutput,
  resultOf,
  sendRun,
  startWorker,
  type WorkerProcess,
} from "../../support/worker-process.js";

const PROJECT = join(REPO_ROOT, "test/projects/runner");
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function scheduler(): Promise<SchedulerServer> {
  const server = await SchedulerServer.start("127.0.0.1:0");
  cleanups.push(() => server.stop());
  return server;
}

function worker(env: NodeJS.ProcessEnv): WorkerProcess {
  const process = startWorker(PROJECT, env);
  cleanups.push(() => process.stop("SIGKILL").then(() => removeTenantBundles(PROJECT, process.child.pid)));
  return process;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("worker resilience", () => {
  // In these two tests the scheduler binds its port again at once and the test re-dispatches every
  // run without a result, as a scheduler that lost its state would: they check that a re-dispatched
  // run gets its one result and never runs twice. Whether results survive a real outage with no
  // re-dispatch is the chaos suite's question (chaos/: a scheduler SIGKILLed that never re-sends).
  it("200 runs re-dispatched across scheduler restarts at random moments: every one answered, none run twice", async () => {
    const server = await scheduler();
    worker({ SCHEDULER_ADDR: server.address });
    await server.waitForWorker(20_000);

    const total = 200;
    const sentAt = new Map<string, number>();
    const results = new Map<string, number>();
    const starts = new Map<string, number>();
    server.onMessage((received) => {
      const runId = received.message.run_result?.run_id;
      if (runId) results.set(runId, (results.get(runId) ?? 0) + 1);
      const event = received.message.worker_event;
      if (event?.event_type === "metrics.compute.started") {
        starts.set(event.run_id, (starts.get(event.run_id) ?? 0) + 1);
      }
    });
    const trySend = (runId: string) => {
      try {
        sendRun(server, runId, "sleep_ms", { ms: 5 + (Number(runId.slice(4)) % 40) });
      } catch {
        // No stream right now: the resend loop below tries again, as a scheduler re-dispatches.
      }
      sentAt.set(runId, Date.now());
    };
    const restarts = new Set([23, 71, 118, 160, 190].map((n) => n + Math.floor(Math.random() * 10)));
    for (let n = 0; n < total; n++) {
      trySend(`run-${n}`);
      if (restarts.has(n)) await server.restart();
      await sleep(10);
    }
    const deadline = Date.now() + 60_000;
    while (results.size < total && Date.now() < deadline) {
      await sleep(500);
      for (const [runId, at] of sentAt) {
        if (!results.has(runId) && Date.now() - at > 1_500 && server.worker) trySend(runId);
      }
    }
    expect(results.size).toBe(total);
    // A result written just before a restart may arrive twice (at least once); a run never runs twice.
    expect([...starts].filter(([, count]) => count > 1)).toEqual([]);
    expect(server.connections.length).toBeGreaterThanOrEqual(restarts.size);
  }, 120_000);

  it("answers a run re-dispatched after an outage with the result it produced meanwhile, without running it twice", async () => {
    const server = await scheduler();
    const process = worker({ SCHEDULER_ADDR: server.address, LOG_LEVEL: "debug" });
    await server.waitForWorker(20_000);
    sendRun(server, "outage-run", "sleep_ms", { ms: 800 });
    const started = await server.waitFor((r) => r.message.worker_event?.run_id === "outage-run", 5_000);
    await server.stop();
    await sleep(1_500);
    await server.restart();
    const back = await server.waitForWorker(20_000, { after: started.stream });
    // A scheduler that lost its state re-dispatches the run, whether or not the buffered result has
    // come in yet; the worker must answer with the one result, not run the task again.
    sendRun(server, "outage-run", "sleep_ms", { ms: 800 });
    const result = await resultOf(server, "outage-run", 20_000).catch((error: Error) => {
      throw new Error(`${error.message}\nworker log:\n${process.stderr()}`);
    });
    expect(decodeOutput(result.output_payload)).toEqual({ slept: 800 });
    expect(back.stream).toBeGreaterThan(started.stream);
    const runs = server.received.filter(
      (r) =>
        r.message.worker_event?.run_id === "outage-run" &&
        r.message.worker_event.event_type === "metrics.compute.started",
    );
    expect(runs).toHaveLength(1);
  }, 40_000);

  it("backs off: at most 10 attempts in 30 s against a dead address or a scheduler that drops every stream", async () => {
    const dropping = await scheduler();
    dropping.rejectNewStreams({ code: 14, details: "not ready" });
    const deadPort = await closedPort();
    const againstDropping = worker({
      SCHEDULER_ADDR: dropping.address,
      RECONNECT_DELAY: "1",
      RECONNECT_JITTER_SECONDS: "1",
      RECONNECT_MAX_DELAY: "30",
    });
    const againstDead = worker({
      SCHEDULER_ADDR: `127.0.0.1:${deadPort}`,
      RECONNECT_DELAY: "1",
      RECONNECT_JITTER_SECONDS: "1",
      RECONNECT_MAX_DELAY: "30",
    });
    await sleep(30_000);
    expect(dropping.connections.length).toBeGreaterThanOrEqual(3);
    expect(dropping.connections.length).toBeLessThanOrEqual(10);
    const attempts = (againstDead.stderr().match(/connecting to the scheduler/g) ?? []).length;
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(attempts).toBeLessThanOrEqual(10);
    expect(againstDropping.child.exitCode).toBeNull();
  }, 45_000);

  it("follows a not_leader redirect to the leader", async () => {
    const follower = await scheduler();
    const leader = await scheduler();
    worker({ SCHEDULER_ADDR: follower.address });
    await follower.waitForWorker(20_000);
    follower.redirectCurrentStream(leader.address);
    const connected = await leader.waitForWorker(10_000);
    expect(connected.registration.resources?.available_functions).toContain("echo");
    sendRun(leader, "led-run", "echo", { text: "leader" });
    expect((await resultOf(leader, "led-run")).success).toBe(true);
  }, 40_000);

  it("uses a rotated JWT on the next connect, and refuses one that is malformed or expired", async () => {
    const server = await scheduler();
    const process = worker({ SCHEDULER_ADDR: server.address, WORKER_JWT: "first-jwt" });
    const first = await server.waitForWorker(20_000);
    expect(first.connection.authorization).toBe("Bearer first-jwt");
    const rotate = (token: string) =>
      server.send({
        worker_event: {
          run_id: "",
          event_type: "worker.jwt.rotate",
          payload_json: Buffer.from(JSON.stringify({ worker_jwt: token })),
        },
      });
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    const rotated = await new UnsecuredJWT({ sub: "worker" }).setExpirationTime(inAnHour).encode();
    rotate(rotated);
    await sleep(200);
    server.dropCurrentStream();
    const second = await server.waitForWorker(20_000, { after: first.stream });
    expect(second.connection.authorization).toBe(`Bearer ${rotated}`);

    rotate("not-a-jwt");
    rotate(await new UnsecuredJWT({ sub: "worker" }).setExpirationTime(inAnHour - 7200).encode());
    await sleep(200);
    server.dropCurrentStream();
    const third = await server.waitForWorker(20_000, { after: second.stream });
    expect(third.connection.authorization).toBe(`Bearer ${rotated}`);
    expect(process.stderr()).toMatch(/not a well-formed JWT[^\n]*"msg":"JWT rotation refused/);
    expect(process.stderr()).toMatch(/the rotated token expired at[^\n]*"msg":"JWT rotation refused/);
  }, 40_000);

  it("drains on SIGTERM: the run in flight finishes, its result is delivered, exit 0", async () => {
    const server = await scheduler();
    const process = worker({ SCHEDULER_ADDR: server.address });
    await server.waitForWorker(20_000);
    sendRun(server, "drain-run", "sleep_ms", { ms: 600 });
    await server.waitFor((r) => r.message.worker_event?.run_id === "drain-run", 5_000);
    process.child.kill("SIGTERM");
    const result = await resultOf(server, "drain-run", 10_000);
    expect(result.success).toBe(true);
    expect(await process.exited).toBe(0);
  }, 30_000);

  describe("with SCHEDULER_JWKS_URL", () => {
    it("starts with a valid token and stops at start, exit 1, on a forged or expired one", async () => {
      const { privateKey, publicKey } = await generateKeyPair("RS256");
      const forger = await generateKeyPair("RS256");
      const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
      const jwks = createServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((done) => jwks.listen(0, "127.0.0.1", done));
      cleanups.push(() => new Promise((done) => jwks.close(done)));
      const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
      const token = (key: Parameters<SignJWT["sign"]>[0], expiresIn: string) =>
        new SignJWT({ sub: "worker-1" })
          .setProtectedHeader({ alg: "RS256", kid: "k1" })
          .setIssuer("cozy")
          .setAudience("workers")
          .setIssuedAt()
          .setExpirationTime(expiresIn)
          .sign(key);
      const env = {
        SCHEDULER_JWKS_URL: url,
        SCHEDULER_JWT_ISSUER: "cozy",
        SCHEDULER_JWT_AUDIENCE: "workers",
      };

      const server = await scheduler();
      worker({ ...env, SCHEDULER_ADDR: server.address, WORKER_JWT: await token(privateKey, "1h") });
      await server.waitForWorker(20_000);

      const forged = worker({
        ...env,
        SCHEDULER_ADDR: server.address,
        WORKER_JWT: await token(forger.privateKey, "1h"),
      });
      expect(await forged.exited).toBe(1);
      expect(forged.stderr()).toMatch(/WORKER_JWT/);
      expect(forged.stderr()).not.toMatch(/\n\s+at /);

      const expired = worker({
        ...env,
        SCHEDULER_ADDR: server.address,
        WORKER_JWT: await token(privateKey, "-1h"),
      });
      expect(await expired.exited).toBe(1);
      expect(expired.stderr()).toMatch(/expired/);
    }, 40_000);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as AddressInfo).port;
  await new Promise((done) => server.close(done));
  return port;
}
