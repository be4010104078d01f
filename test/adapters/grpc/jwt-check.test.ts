import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JwtVerificationError, verifyWorkerJwt } from "../../../src/adapters/grpc/jwt-check.js";
import type { JwksCheck } from "../../../src/settings/worker.js";

interface KeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

/** A real HTTP server on 127.0.0.1 answering every path with `respond()`. */
async function serve(
  respond: () => { status: number; body: string },
): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    const { status, body } = respond();
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/.well-known/jwks.json`, server };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function publicJwk(pair: KeyPair, kid: string): Promise<JWK> {
  return { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" };
}

function sign(
  pair: KeyPair,
  claims: { iss?: string; aud?: string | string[]; exp?: number | string; nbf?: number },
  header: { kid?: string; alg?: string } = { kid: "key-1" },
): Promise<string> {
  const jwt = new SignJWT({ scope: "worker" }).setProtectedHeader({ alg: header.alg ?? "RS256", ...header });
  jwt.setSubject("worker-1").setIssuedAt();
  if (claims.iss !== undefined) jwt.setIssuer(claims.iss);
  if (claims.aud !== undefined) jwt.setAudience(claims.aud);
  jwt.setExpirationTime(claims.exp ?? "1h");
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  return jwt.sign(pair.privateKey);
}

async function failureOf(token: string, check: JwksCheck): Promise<JwtVerificationError> {
  try {
    await verifyWorkerJwt(token, check);
  } catch (error) {
    expect(error).toBeInstanceOf(JwtVerificationError);
    const failure = error as JwtVerificationError;
    if (token) expect(failure.message).not.toContain(token);
    for (const part of token.split(".")) if (part.length >= 16) expect(failure.message).not.toContain(part);
    expect(failure.message).not.toContain("\n");
    return failure;
  }
  throw new Error("expected the token to be rejected");
}

describe("verifyWorkerJwt against a JWKS served on loopback", () => {
  let scheduler: KeyPair;
  let other: KeyPair;
  let jwks: { url: string; server: Server };
  let fetches = 0;

  beforeAll(async () => {
    scheduler = await generateKeyPair("RS256");
    other = await generateKeyPair("RS256");
    const second = await generateKeyPair("RS256");
    const body = JSON.stringify({
      keys: [await publicJwk(scheduler, "key-1"), await publicJwk(second, "key-2")],
    });
    jwks = await serve(() => {
      fetches++;
      return { status: 200, body };
    });
  });

  afterAll(async () => {
    await close(jwks.server);
  });

  const check = (extra: Partial<JwksCheck> = {}): JwksCheck => ({ url: jwks.url, ttlSeconds: 300, ...extra });

  it("accepts a token signed by the scheduler's key", async () => {
    await expect(verifyWorkerJwt(await sign(scheduler, {}), check())).resolves.toBeUndefined();
  });

  it("checks issuer and audience when they are configured", async () => {
    const token = await sign(scheduler, { iss: "cozy-scheduler", aud: ["workers", "other"] });
    await expect(
      verifyWorkerJwt(token, check({ issuer: "cozy-scheduler", audience: "workers" })),
    ).resolves.toBeUndefined();
  });

  it("caches the key set for the TTL", async () => {
    const before = fetches;
    await verifyWorkerJwt(await sign(scheduler, {}), check());
    await verifyWorkerJwt(await sign(scheduler, {}), check());
    expect(fetches).toBe(before);
  });

  it("rejects a forged token: another key under the scheduler's kid", async () => {
    const failure = await failureOf(await sign(other, {}, { kid: "key-1" }), check());
    expect(failure.failure).toBe("signature");
    expect(failure.message).toContain(
      `WORKER_JWT is not signed by a key in SCHEDULER_JWKS_URL (${jwks.url})`,
    );
    expect(failure.message).toMatch(/^WORKER_JWT is not signed by a key in SCHEDULER_JWKS_URL /);
  });

  it("rejects a token whose kid the key set does not have", async () => {
    const failure = await failureOf(await sign(other, {}, { kid: "unknown-kid" }), check());
    expect(failure.failure).toBe("signature");
    expect(failure.message).toContain('the token\'s kid "unknown-kid"');
  });

  it("rejects an expired token, saying when it expired", async () => {
    const exp = Math.floor(Date.UTC(2024, 0, 2, 3, 4, 5) / 1000);
    const failure = await failureOf(await sign(scheduler, { exp }), check());
    expect(failure.failure).toBe("expired");
    expect(failure.message).toBe(
      "WORKER_JWT expired at 2024-01-02T03:04:05.000Z: ask the scheduler for a new token and set WORKER_JWT to it",
    );
  });

  it("rejects a token that is not valid yet", async () => {
    const nbf = Math.floor(Date.now() / 1000) + 3600;
    const failure = await failureOf(await sign(scheduler, { nbf }), check());
    expect(failure.failure).toBe("not_yet_valid");
    expect(failure.message).toContain(new Date(nbf * 1000).toISOString());
  });

  it("rejects the wrong issuer, naming expected and found", async () => {
    const failure = await failureOf(
      await sign(scheduler, { iss: "someone-else" }),
      check({ issuer: "cozy" }),
    );
    expect(failure.failure).toBe("issuer");
    expect(failure.message).toContain('"someone-else"');
    expect(failure.message).toContain('SCHEDULER_JWT_ISSUER expects "cozy"');
  });

  it("rejects a missing issuer claim when one is expected", async () => {
    const failure = await failureOf(await sign(scheduler, {}), check({ issuer: "cozy" }));
    expect(failure.failure).toBe("issuer");
    expect(failure.message).toContain("issued by (none)");
  });

  it("rejects the wrong audience, naming expected and found", async () => {
    const failure = await failureOf(
      await sign(scheduler, { aud: ["a", "b"] }),
      check({ audience: "workers" }),
    );
    expect(failure.failure).toBe("audience");
    expect(failure.message).toContain('audience "a", "b"');
    expect(failure.message).toContain('SCHEDULER_JWT_AUDIENCE expects "workers"');
  });

  it("rejects a token signed with another algorithm", async () => {
    const pss = await generateKeyPair("PS256");
    const failure = await failureOf(await sign(pss, {}, { kid: "key-1", alg: "PS256" }), check());
    expect(failure.failure).toBe("algorithm");
    expect(failure.message).toContain('signed with "PS256" but only RS256 is accepted');
  });

  it.each(["not-a-jwt", "a.b.c", "", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"])(
    "rejects the malformed token %j",
    async (token) => {
      const failure = await failureOf(token, check());
      expect(failure.failure).toBe("malformed");
      expect(failure.message).toMatch(/^WORKER_JWT is not a well-formed JWT/);
    },
  );

  it("reports an unreachable JWKS (a closed port on 127.0.0.1)", async () => {
    const closed = await serve(() => ({ status: 200, body: "{}" }));
    await close(closed.server);
    const failure = await failureOf(await sign(scheduler, {}), { url: closed.url, ttlSeconds: 300 });
    expect(failure.failure).toBe("jwks_unreachable");
    expect(failure.message).toBe(
      `cannot fetch SCHEDULER_JWKS_URL (${closed.url}): the connection was refused (ECONNREFUSED); check the URL and that the scheduler is reachable from this machine`,
    );
  });

  it("reports a JWKS endpoint that answers with an error status", async () => {
    const broken = await serve(() => ({ status: 404, body: '{"error":"not found"}' }));
    try {
      const failure = await failureOf(await sign(scheduler, {}), { url: broken.url, ttlSeconds: 300 });
      expect(failure.failure).toBe("jwks_unreachable");
      expect(failure.message).toContain("it answered HTTP 404");
    } finally {
      await close(broken.server);
    }
  });

  it("reports a JWKS endpoint that does not serve a key set", async () => {
    const broken = await serve(() => ({ status: 200, body: '{"hello":"world"}' }));
    try {
      const failure = await failureOf(await sign(scheduler, {}), { url: broken.url, ttlSeconds: 300 });
      expect(failure.failure).toBe("jwks_unreachable");
      expect(failure.message).toMatch(/is not a valid JSON Web Key Set/);
    } finally {
      await close(broken.server);
    }
  });

  it("does not show credentials or a query of the JWKS URL", async () => {
    const closed = await serve(() => ({ status: 200, body: "{}" }));
    await close(closed.server);
    const token = await sign(scheduler, {});
    const withQuery = await failureOf(token, { url: `${closed.url}?token=abc`, ttlSeconds: 300 });
    expect(withQuery.failure).toBe("jwks_unreachable");
    expect(withQuery.message).toContain(`(${closed.url})`);
    expect(withQuery.message).not.toContain("token=abc");
    const withPassword = closed.url.replace("http://", "http://user:hunter2@");
    const failure = await failureOf(token, { url: withPassword, ttlSeconds: 300 });
    expect(failure.failure).toBe("jwks_unreachable");
    expect(failure.message).toContain("contains a user name or password");
    expect(failure.message).not.toContain("hunter2");
  });
});
