import { describe, expect, it } from "vitest";
import { hostSettingsFromEnv } from "../../src/settings/host.js";
import { modelSettingsFromEnv } from "../../src/settings/models.js";
import { EnvironmentError } from "../../src/settings/read.js";
import { runtimeSettingsFromEnv } from "../../src/settings/runtime.js";
import { workerSettingsFromEnv } from "../../src/settings/worker.js";

const JWT = "header.payload.signature";

function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    workerSettingsFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvironmentError);
    return (error as EnvironmentError).problems;
  }
  throw new Error("expected an EnvironmentError");
}

describe("workerSettingsFromEnv", () => {
  it("needs only WORKER_JWT and fills every default", () => {
    const settings = workerSettingsFromEnv({ WORKER_JWT: JWT });
    expect(settings).toEqual({
      addresses: [{ target: "localhost:8080", tls: false }],
      jwt: JWT,
      workerId: `ts-worker-${process.pid}`,
      runpodPodId: "",
      reconnect: { baseDelayMs: 1000, maxDelayMs: 30000, jitterMs: 1000, maxAttempts: 0 },
      heartbeatMs: 10000,
      drainTimeoutMs: 30000,
      outboxLimit: 10000,
      keepalive: { timeMs: 10000, timeoutMs: 10000 },
      connectTimeoutMs: 10000,
      maxSendMessageBytes: 4 * 1024 * 1024,
      runtime: runtimeSettingsFromEnv({}),
      models: modelSettingsFromEnv({}),
      host: hostSettingsFromEnv({}),
    });
    expect(settings.jwks).toBeUndefined();
  });

  it("reads every variable", () => {
    const settings = workerSettingsFromEnv({
      SCHEDULER_ADDR: "grpcs://primary.example.com:8443",
      SCHEDULER_ADDRS: "seed-a:443, seed-b:8080",
      WORKER_JWT: ` ${JWT} `,
      WORKER_ID: "worker-7",
      RUNPOD_POD_ID: "pod-123",
      SCHEDULER_JWKS_URL: "https://primary.example.com/.well-known/jwks.json",
      SCHEDULER_JWKS_TTL_SECONDS: "60",
      SCHEDULER_JWT_ISSUER: "cozy-scheduler",
      SCHEDULER_JWT_AUDIENCE: "workers",
      RECONNECT_DELAY: "0.5",
      RECONNECT_MAX_DELAY: "0",
      RECONNECT_JITTER_SECONDS: "0.25",
      MAX_RECONNECT_ATTEMPTS: "12",
      WORKER_HEARTBEAT_SECONDS: "0.2",
      WORKER_DRAIN_TIMEOUT_SECONDS: "0",
      WORKER_OUTBOX_MAX_MESSAGES: "50",
      WORKER_KEEPALIVE_TIME_SECONDS: "2",
      WORKER_KEEPALIVE_TIMEOUT_SECONDS: "0.5",
      WORKER_CONNECT_TIMEOUT_SECONDS: "3",
      WORKER_MAX_SEND_MESSAGE_BYTES: "16777216",
      WORKER_MAX_CONCURRENCY: "4",
    });
    expect(settings.addresses).toEqual([
      { target: "primary.example.com:8443", tls: true },
      { target: "seed-a:443", tls: true },
      { target: "seed-b:8080", tls: false },
    ]);
    expect(settings.jwt).toBe(JWT);
    expect(settings.workerId).toBe("worker-7");
    expect(settings.runpodPodId).toBe("pod-123");
    expect(settings.jwks).toEqual({
      url: "https://primary.example.com/.well-known/jwks.json",
      ttlSeconds: 60,
      issuer: "cozy-scheduler",
      audience: "workers",
    });
    expect(settings.reconnect).toEqual({ baseDelayMs: 500, maxDelayMs: 0, jitterMs: 250, maxAttempts: 12 });
    expect(settings.heartbeatMs).toBe(200);
    expect(settings.drainTimeoutMs).toBe(0);
    expect(settings.outboxLimit).toBe(50);
    expect(settings.keepalive).toEqual({ timeMs: 2000, timeoutMs: 500 });
    expect(settings.connectTimeoutMs).toBe(3000);
    expect(settings.maxSendMessageBytes).toBe(16 * 1024 * 1024);
    expect(settings.runtime.maxConcurrency).toBe(4);
  });

  it("leaves issuer and audience out when unset", () => {
    const settings = workerSettingsFromEnv({
      WORKER_JWT: JWT,
      SCHEDULER_JWKS_URL: "http://127.0.0.1:9/jwks",
    });
    expect(settings.jwks).toEqual({ url: "http://127.0.0.1:9/jwks", ttlSeconds: 300 });
  });

  it("treats blank values as unset", () => {
    const settings = workerSettingsFromEnv({
      WORKER_JWT: JWT,
      SCHEDULER_ADDR: "",
      WORKER_ID: " ",
      RECONNECT_DELAY: "",
      SCHEDULER_JWKS_URL: "  ",
      USE_TLS: "",
    });
    expect(settings.addresses).toEqual([{ target: "localhost:8080", tls: false }]);
    expect(settings.workerId).toBe(`ts-worker-${process.pid}`);
    expect(settings.reconnect.baseDelayMs).toBe(1000);
    expect(settings.jwks).toBeUndefined();
  });

  it("refuses to start without WORKER_JWT, saying what it is for", () => {
    for (const env of [{}, { WORKER_JWT: "" }, { WORKER_JWT: "   " }]) {
      const problems = problemsOf(env);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^WORKER_JWT is not set: the worker needs the token the scheduler issued/);
      expect(problems[0]).toContain("set WORKER_JWT");
    }
  });

  it("lists every problem at once, its own and the runtime's, one sentence each", () => {
    const problems = problemsOf({
      SCHEDULER_ADDR: "scheduler-without-port",
      SCHEDULER_ADDRS: "ok:1,bad:port",
      SCHEDULER_JWKS_URL: "ftp://keys.example.com/jwks.json",
      SCHEDULER_JWKS_TTL_SECONDS: "soon",
      RECONNECT_DELAY: "-1",
      RECONNECT_MAX_DELAY: "Infinity",
      RECONNECT_JITTER_SECONDS: "NaN",
      MAX_RECONNECT_ATTEMPTS: "2.5",
      WORKER_HEARTBEAT_SECONDS: "0",
      WORKER_DRAIN_TIMEOUT_SECONDS: "ten",
      WORKER_OUTBOX_MAX_MESSAGES: "-3",
      WORKER_KEEPALIVE_TIME_SECONDS: "0",
      WORKER_CONNECT_TIMEOUT_SECONDS: "soon",
      WORKER_MAX_SEND_MESSAGE_BYTES: "100",
      WORKER_MAX_CONCURRENCY: "many",
    });
    const expected = [
      /^SCHEDULER_ADDR value "scheduler-without-port" has no port/,
      /^SCHEDULER_ADDRS value "bad:port" has the bad port "port"/,
      /^WORKER_JWT is not set/,
      /^SCHEDULER_JWKS_TTL_SECONDS must be a number of seconds, 0 or more .* got "soon"/,
      /^SCHEDULER_JWKS_URL "ftp:\/\/keys.example.com\/jwks.json" uses ftp: only http and https URLs/,
      /^RECONNECT_DELAY must be a number of seconds, 0 or more .* got "-1"/,
      /^RECONNECT_MAX_DELAY must be .*0 = no cap.* got "Infinity"/,
      /^RECONNECT_JITTER_SECONDS must be .* got "NaN"/,
      /^MAX_RECONNECT_ATTEMPTS must be a whole number of 0 or more \(0 = retry forever\), got "2.5"/,
      /^WORKER_HEARTBEAT_SECONDS must be at least 0.001 .* got "0"/,
      /^WORKER_DRAIN_TIMEOUT_SECONDS must be .* got "ten"/,
      /^WORKER_OUTBOX_MAX_MESSAGES must be a whole number .* got "-3"/,
      /^WORKER_KEEPALIVE_TIME_SECONDS must be above 0 .* got "0"/,
      /^WORKER_CONNECT_TIMEOUT_SECONDS must be a number of seconds, 0 or more .* got "soon"/,
      /^WORKER_MAX_SEND_MESSAGE_BYTES must be a whole number of 1024 or more, got "100"/,
      /^WORKER_MAX_CONCURRENCY must be a whole number/,
    ];
    expect(problems).toHaveLength(expected.length);
    for (const [index, pattern] of expected.entries()) expect(problems[index]).toMatch(pattern);
    for (const problem of problems) expect(problem).not.toContain("\n");
  });

  it("rejects a JWKS URL that is not a URL", () => {
    const problems = problemsOf({ WORKER_JWT: JWT, SCHEDULER_JWKS_URL: "keys.example.com/jwks" });
    expect(problems).toEqual([
      expect.stringMatching(/^SCHEDULER_JWKS_URL "keys.example.com\/jwks" is not a URL/),
    ]);
  });

  it("rejects a JWKS URL with credentials without repeating them", () => {
    const problems = problemsOf({
      WORKER_JWT: JWT,
      SCHEDULER_JWKS_URL: "https://u:hunter2@keys.example.com/jwks",
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /^SCHEDULER_JWKS_URL \(https:\/\/keys.example.com\/jwks\) contains a user name or password/,
      ),
    ]);
    expect(problems[0]).not.toContain("hunter2");
  });

  it("keeps the token out of every message", () => {
    const secret = "eyJhbGciOiJSUzI1NiJ9.secret-claims.secret-signature";
    const problems = problemsOf({ WORKER_JWT: secret, RECONNECT_DELAY: "x", SCHEDULER_ADDR: "nope" });
    expect(problems.join("\n")).not.toContain("secret");
  });
});
