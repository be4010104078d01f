import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type FetchImplementation,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import { UserError } from "../../contract/user-errors.js";
import type { JwksCheck } from "../../settings/worker.js";

/** What went wrong, for callers that branch on it. */
export type JwtFailure =
  | "expired"
  | "not_yet_valid"
  | "signature"
  | "issuer"
  | "audience"
  | "algorithm"
  | "jwks_unreachable"
  | "malformed"
  | "other";

/** `WORKER_JWT` failed the start-up check; the message never contains the token. */
export class JwtVerificationError extends UserError {
  constructor(
    readonly failure: JwtFailure,
    message: string,
  ) {
    super(message);
  }
}

const FETCH_TIMEOUT_MS = 5000;

interface KeySet {
  getKey: JWTVerifyGetKey;
  /** HTTP status of the latest JWKS response, to explain a refusal. */
  lastStatus?: number;
}

/** One remote key set per URL and TTL, so the TTL caches keys across checks (e.g. after a rotation). */
const keySets = new Map<string, KeySet>();

function keySetFor(check: JwksCheck): KeySet {
  const cacheKey = `${check.ttlSeconds}|${check.url}`;
  const known = keySets.get(cacheKey);
  if (known) return known;
  const keySet = {} as KeySet;
  const fetchRecordingStatus: FetchImplementation = async (url, options) => {
    const response = await fetch(url, options);
    keySet.lastStatus = response.status;
    return response;
  };
  keySet.getKey = createRemoteJWKSet(new URL(check.url), {
    cacheMaxAge: Math.round(check.ttlSeconds * 1000),
    timeoutDuration: FETCH_TIMEOUT_MS,
    [customFetch]: fetchRecordingStatus,
  });
  keySets.set(cacheKey, keySet);
  return keySet;
}

/**
 * Verifies `token` against the key set at `check.url`: RS256 only, the key picked by the token's
 * `kid`, `iss` and `aud` checked when configured, `exp`/`nbf` checked against this machine's clock.
 * Throws {@link JwtVerificationError} saying in one sentence what failed and how to fix it.
 */
export async function verifyWorkerJwt(token: string, check: JwksCheck): Promise<void> {
  let url: URL;
  try {
    url = new URL(check.url);
  } catch {
    throw new JwtVerificationError(
      "other",
      `SCHEDULER_JWKS_URL is not a URL: set it to the scheduler's JWKS address`,
    );
  }
  if (url.username || url.password) {
    throw new JwtVerificationError(
      "jwks_unreachable",
      `cannot fetch SCHEDULER_JWKS_URL (${shownUrl(url)}): it contains a user name or password, which cannot be sent that way; remove them from the URL`,
    );
  }
  const keySet = keySetFor(check);
  keySet.lastStatus = undefined;
  const options: { algorithms: string[]; requiredClaims: string[]; issuer?: string; audience?: string } = {
    algorithms: ["RS256"],
    // A token without an expiry would be good forever if it leaked.
    requiredClaims: ["exp"],
  };
  if (check.issuer !== undefined) options.issuer = check.issuer;
  if (check.audience !== undefined) options.audience = check.audience;
  try {
    await jwtVerify(token, keySet.getKey, options);
  } catch (error) {
    const failure = describeFailure(error, token, check, shownUrl(url), keySet.lastStatus);
    throw new JwtVerificationError(
      failure.failure,
      scrub(failure.message, token, [check.url, url.href], shownUrl(url)),
    );
  }
}

function describeFailure(
  error: unknown,
  token: string,
  check: JwksCheck,
  jwksUrl: string,
  status: number | undefined,
): { failure: JwtFailure; message: string } {
  const source = `SCHEDULER_JWKS_URL (${jwksUrl})`;
  if (error instanceof errors.JWTExpired) {
    return {
      failure: "expired",
      message: `WORKER_JWT expired at ${isoTime(error.payload.exp)}: ask the scheduler for a new token and set WORKER_JWT to it`,
    };
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    const found = error.payload[error.claim];
    if (error.claim === "exp" && found === undefined) {
      return {
        failure: "malformed",
        message:
          "WORKER_JWT has no expiry (no exp claim), so it would be valid forever if it leaked: ask the scheduler for a token that expires",
      };
    }
    if (error.claim === "iss") {
      return {
        failure: "issuer",
        message: `WORKER_JWT was issued by ${shown(found)} but SCHEDULER_JWT_ISSUER expects "${check.issuer}": use a token from that issuer or correct SCHEDULER_JWT_ISSUER`,
      };
    }
    if (error.claim === "aud") {
      return {
        failure: "audience",
        message: `WORKER_JWT is meant for audience ${shown(found)} but SCHEDULER_JWT_AUDIENCE expects "${check.audience}": use a token for that audience or correct SCHEDULER_JWT_AUDIENCE`,
      };
    }
    if (error.claim === "nbf") {
      return {
        failure: "not_yet_valid",
        message: `WORKER_JWT is not valid before ${isoTime(found)}: check this machine's clock, or wait until then`,
      };
    }
    return {
      failure: "malformed",
      message: `WORKER_JWT has an invalid "${error.claim}" claim (${error.message}): set WORKER_JWT to the token exactly as the scheduler issued it`,
    };
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return {
      failure: "signature",
      message: `WORKER_JWT is not signed by a key in ${source}: its signature does not match the key with its kid; use a token this scheduler issued, or point SCHEDULER_JWKS_URL at the scheduler that issued it`,
    };
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return {
      failure: "signature",
      message: `WORKER_JWT is not signed by a key in ${source}: no RS256 key there has the token's kid ${shown(kidOf(token))}; use a token this scheduler issued, or point SCHEDULER_JWKS_URL at the scheduler that issued it`,
    };
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    return {
      failure: "signature",
      message: `WORKER_JWT names no kid and ${source} holds several RS256 keys, so the signing key cannot be chosen: use a token with a kid header`,
    };
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return {
      failure: "algorithm",
      message: `WORKER_JWT is signed with ${shown(algOf(token))} but only RS256 is accepted: use a token the scheduler signed with RS256`,
    };
  }
  if (error instanceof errors.JWKSTimeout) {
    return {
      failure: "jwks_unreachable",
      message: `cannot fetch ${source}: no answer within ${FETCH_TIMEOUT_MS / 1000} s; check the URL and that the scheduler is reachable from this machine`,
    };
  }
  if (error instanceof errors.JWKSInvalid || error instanceof errors.JWKInvalid) {
    return {
      failure: "jwks_unreachable",
      message: `cannot use ${source}: its answer is not a valid JSON Web Key Set (${error.message}); point SCHEDULER_JWKS_URL at the scheduler's JWKS endpoint`,
    };
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return {
      failure: "malformed",
      message: `WORKER_JWT is not a well-formed JWT (${error.message}): set it to the token exactly as the scheduler issued it, without quotes or extra text`,
    };
  }
  if (error instanceof errors.JOSENotSupported) {
    return {
      failure: "algorithm",
      message: `WORKER_JWT or ${source} uses something this worker cannot verify (${error.message}): the scheduler must sign with RS256`,
    };
  }
  if (error instanceof errors.JOSEError) {
    // The one generic JOSEError from the remote key set is a non-200 answer or a body that is not JSON.
    const why = status !== undefined && status !== 200 ? `it answered HTTP ${status}` : error.message;
    return {
      failure: "jwks_unreachable",
      message: `cannot fetch ${source}: ${why}; check the URL and that the scheduler serves its JWKS there`,
    };
  }
  if (error instanceof TypeError && error.message === "fetch failed") {
    return {
      failure: "jwks_unreachable",
      message: `cannot fetch ${source}: ${networkReason(error)}; check the URL and that the scheduler is reachable from this machine`,
    };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return {
    failure: "other",
    message: `WORKER_JWT could not be checked against ${source} (${message}): check SCHEDULER_JWKS_URL and the token`,
  };
}

function networkReason(error: TypeError): string {
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  const reasons: Record<string, string> = {
    ECONNREFUSED: "the connection was refused",
    ENOTFOUND: "the host name does not resolve",
    EAI_AGAIN: "the host name could not be resolved (DNS unavailable)",
    ECONNRESET: "the connection was reset",
    ETIMEDOUT: "the connection timed out",
    EHOSTUNREACH: "the host is unreachable",
  };
  if (code && reasons[code]) return `${reasons[code]} (${code})`;
  if (typeof cause?.message === "string" && cause.message) return cause.message;
  return "the request failed";
}

/** The URL without credentials, query or fragment, which may carry secrets. */
function shownUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function kidOf(token: string): unknown {
  try {
    return decodeProtectedHeader(token).kid;
  } catch {
    return undefined;
  }
}

function algOf(token: string): unknown {
  try {
    return decodeProtectedHeader(token).alg;
  } catch {
    return undefined;
  }
}

/** A claim or header value for a message: quoted, arrays listed, absence named, long values cut. */
function shown(value: unknown): string {
  if (value === undefined) return "(none)";
  const text = Array.isArray(value)
    ? value.map((item) => JSON.stringify(item)).join(", ")
    : JSON.stringify(value);
  const safe = text ?? String(value);
  return safe.length > 120 ? `${safe.slice(0, 117)}...` : safe;
}

function isoTime(seconds: unknown): string {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "an unreadable time";
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? "an unreadable time" : date.toISOString();
}

/**
 * Removes the token, and any long piece of it, from a message, and writes the JWKS URL without its
 * query (which may carry a secret) wherever an error repeated it in full.
 */
function scrub(message: string, token: string, urls: string[], shown: string): string {
  let result = message;
  for (const url of urls) if (url !== shown) result = result.split(url).join(shown);
  const pieces = [token.trim(), ...token.split(".")].filter((piece) => piece.length >= 16);
  for (const piece of pieces.sort((a, b) => b.length - a.length))
    result = result.split(piece).join("<token>");
  return result;
}

/**
 * Checks a token the scheduler sent to replace WORKER_JWT before the worker uses it on its next
 * connect: verified like WORKER_JWT at start when SCHEDULER_JWKS_URL is set; without a key set,
 * it must at least be a well-formed JWT that has not expired. Throws {@link JwtVerificationError}.
 */
export async function checkRotatedJwt(token: string, check: JwksCheck | undefined): Promise<void> {
  if (check) return verifyWorkerJwt(token, check);
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(token);
  } catch (error) {
    throw new JwtVerificationError(
      "malformed",
      `the rotated token is not a well-formed JWT (${(error as Error).message})`,
    );
  }
  if (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now()) {
    throw new JwtVerificationError("expired", `the rotated token expired at ${isoTime(claims.exp)}`);
  }
}
