import { UserError } from "../contract/user-errors.js";
/**
 * Scheduler addresses as the Python SDK reads them.
 *
 * | form                              | TLS |
 * |-----------------------------------|-----|
 * | `grpcs://host:port`, `https://…`  | on  |
 * | `grpc://host:port`, `http://…`    | off |
 * | bare `host:443`                   | on  |
 * | bare `host:<other port>`          | off |
 *
 * The scheme is always stripped. `USE_TLS`, when set, overrides every address: `true`, `1`, `t`
 * (any case) turn TLS on, any other value turns it off. A blank `USE_TLS` counts as unset.
 */

/** One address to dial. */
export interface SchedulerAddress {
  /** `host:port` as handed to gRPC; IPv6 hosts keep their brackets (`[::1]:8080`). */
  target: string;
  tls: boolean;
}

/** Every malformed address, one sentence each. */
export class SchedulerAddressError extends UserError {
  declare readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join("\n"), { problems, exitCode: 2 });
  }
}

const DEFAULT_ADDRESS = "localhost:8080";
const EXAMPLE = 'e.g. "scheduler.example.com:443" or "grpc://10.0.0.5:8080"';
const SCHEMES: Record<string, boolean> = { grpcs: true, https: true, grpc: false, http: false };

/**
 * Parses one address. `variable` names the environment variable in error messages.
 * Throws {@link SchedulerAddressError} when the value has no port, a bad port, a path or an unknown scheme.
 */
export function parseSchedulerAddress(
  raw: string,
  useTls: string | undefined,
  variable = "SCHEDULER_ADDR",
): SchedulerAddress {
  const value = raw.trim();
  const bad = (what: string) =>
    new SchedulerAddressError([`${variable} value "${raw}" ${what}: write host:port, ${EXAMPLE}`]);
  if (value === "") throw bad("is empty");

  let rest = value;
  let schemeTls: boolean | undefined;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value);
  if (scheme) {
    const name = (scheme[1] ?? "").toLowerCase();
    schemeTls = SCHEMES[name];
    if (schemeTls === undefined)
      throw bad(`has the unsupported scheme "${name}://" (use grpc://, grpcs://, http:// or https://)`);
    rest = value.slice(scheme[0].length);
  }
  // "https://host:443/" is a common way to write an origin; a lone trailing slash is not a path.
  if (rest.endsWith("/") && rest.indexOf("/") === rest.length - 1) rest = rest.slice(0, -1);
  if (/[/?#]/.test(rest))
    throw bad("has a path, query or fragment (the scheduler is dialled at host:port only)");
  if (rest.includes("@")) throw bad("has user information before the host");
  if (/\s/.test(rest)) throw bad("contains whitespace");

  let host: string;
  let portText: string;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) throw bad("has an IPv6 host without its closing bracket");
    host = rest.slice(0, close + 1);
    const after = rest.slice(close + 1);
    if (!after.startsWith(":") || after.length === 1) throw bad("has no port");
    portText = after.slice(1);
    if (host === "[]") throw bad("has an empty host");
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon < 0 || colon === rest.length - 1) throw bad("has no port");
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (host.includes(":")) throw bad("has an IPv6 host without brackets (write [::1]:8080)");
    if (host === "") throw bad("has an empty host");
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw bad(`has the bad port "${portText}" (a port is a number from 1 to 65535)`);
  }
  const port = Number(portText);
  const override = useTls?.trim();
  const tls = override ? ["true", "1", "t"].includes(override.toLowerCase()) : (schemeTls ?? port === 443);
  return { target: `${host}:${port}`, tls };
}

/**
 * `SCHEDULER_ADDR` (default `localhost:8080`) followed by each comma-separated `SCHEDULER_ADDRS`
 * entry, trimmed, empty entries dropped, de-duplicated by target keeping the first.
 * Throws {@link SchedulerAddressError} listing every malformed address.
 */
export function schedulerAddresses(
  primary: string | undefined,
  seeds: string | undefined,
  useTls: string | undefined,
): SchedulerAddress[] {
  const candidates: { raw: string; variable: string }[] = [
    { raw: primary?.trim() || DEFAULT_ADDRESS, variable: "SCHEDULER_ADDR" },
  ];
  for (const seed of (seeds ?? "").split(",")) {
    if (seed.trim() !== "") candidates.push({ raw: seed.trim(), variable: "SCHEDULER_ADDRS" });
  }
  const problems: string[] = [];
  const addresses: SchedulerAddress[] = [];
  for (const { raw, variable } of candidates) {
    try {
      const address = parseSchedulerAddress(raw, useTls, variable);
      if (!addresses.some((known) => known.target === address.target)) addresses.push(address);
    } catch (error) {
      if (!(error instanceof SchedulerAddressError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new SchedulerAddressError(problems);
  return addresses;
}

const NOT_LEADER = "not_leader:";

/**
 * The leader address in a `FAILED_PRECONDITION` status' details (`not_leader:<host:port>`), used as
 * given; `undefined` for an empty address, any other details or none.
 */
export function leaderFromDetails(details: string | undefined): string | undefined {
  if (details === undefined || !details.startsWith(NOT_LEADER)) return undefined;
  const leader = details.slice(NOT_LEADER.length).trim();
  return leader === "" ? undefined : leader;
}
