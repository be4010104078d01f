import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { buildConnector } from "undici";
import { ValidationError } from "../../contract/errors.js";

/** IPv4 ranges no input URL may reach: [network, prefix length]. */
const BLOCKED_IPV4: readonly [string, number][] = [
  ["0.0.0.0", 8], // "this network", including the unspecified address
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata services
  ["172.16.0.0", 12],
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // 6to4 relay anycast
  ["192.168.0.0", 16],
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, including the broadcast address
];

const BLOCKED_IPV6: readonly [string, number][] = [
  ["::", 96], // unspecified, loopback and the deprecated IPv4-compatible addresses
  ["::ffff:0:0:0", 96], // IPv4-translated (SIIT)
  ["64:ff9b:1::", 48], // local-use NAT64
  ["100::", 64], // discard-only
  ["2001::", 23], // IETF protocol assignments: Teredo, benchmarking, ORCHID
  ["2001:db8::", 32], // documentation
  ["3fff::", 20], // documentation
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
];

const blockList = buildBlockList();

/**
 * Whether an input URL must not reach this address. IPv6 forms that embed an IPv4 address
 * (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) are judged by it.
 * Anything that is not an IP address is blocked.
 */
export function isBlockedAddress(ip: string): boolean {
  const address = stripZone(ip.trim());
  const family = isIP(address);
  if (family === 4) return blockList.check(address, "ipv4");
  if (family === 6) return blockList.check(address, "ipv6");
  return true;
}

function buildBlockList(): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of BLOCKED_IPV4) {
    // IPv4 rules also match IPv4-mapped IPv6 addresses (BlockList does this itself).
    list.addSubnet(network, prefix, "ipv4");
    list.addSubnet(`64:ff9b::${network}`, 96 + prefix, "ipv6");
    list.addSubnet(sixToFourNetwork(network), 16 + prefix, "ipv6");
  }
  for (const [network, prefix] of BLOCKED_IPV6) list.addSubnet(network, prefix, "ipv6");
  return list;
}

function sixToFourNetwork(ipv4: string): string {
  const hex = ipv4.split(".").map((octet) => Number(octet).toString(16).padStart(2, "0"));
  return `2002:${hex[0]}${hex[1]}:${hex[2]}${hex[3]}::`;
}

function stripZone(address: string): string {
  const zone = address.indexOf("%");
  return zone === -1 ? address : address.slice(0, zone);
}

/** The hosts a worker may fetch inputs from although they resolve to blocked addresses. */
export class AllowedHosts {
  private readonly entries: Set<string>;

  constructor(allowHosts: readonly string[]) {
    this.entries = new Set(
      allowHosts.map((entry) => entry.trim().toLowerCase()).filter((entry) => entry !== ""),
    );
  }

  /** `hostname` without IPv6 brackets; `port` the effective port. */
  allows(hostname: string, port: number): boolean {
    if (this.entries.size === 0) return false;
    const host = canonicalHost(hostname);
    const hostForPort = isIP(host) === 6 ? `[${host}]` : host;
    return (
      this.entries.has(host) || this.entries.has(hostForPort) || this.entries.has(`${hostForPort}:${port}`)
    );
  }
}

/** Lower case, without IPv6 brackets or a trailing dot. */
export function canonicalHost(hostname: string): string {
  let host = hostname.toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host.endsWith(".")) host = host.slice(0, -1);
  return host;
}

export function blockedHostError(host: string): ValidationError {
  return new ValidationError(
    `input url blocked: ${host} resolves to a private, loopback or link-local address`,
  );
}

/** Resolves a hostname to all of its addresses. */
export type HostLookup = (hostname: string) => Promise<string[]>;

export interface GuardedConnectorOptions {
  /** Replaces DNS resolution (tests). */
  lookup?: HostLookup;
  /** The connector that opens sockets once an address has passed the checks (tests may wrap it). */
  connect?: buildConnector.connector;
  connectTimeoutMs?: number;
}

const defaultLookup: HostLookup = async (hostname) => {
  const results = await dnsLookup(hostname, { all: true, verbatim: true });
  return results.map((result) => result.address);
};

/**
 * An undici `connect` function that resolves the host itself, refuses it when any of its
 * addresses is blocked (unless the host is allow-listed), and then connects to an address it
 * checked, so a second DNS answer cannot swap in another one.
 */
export function guardedConnector(
  allowHosts: readonly string[],
  options: GuardedConnectorOptions = {},
): buildConnector.connector {
  const allowed = new AllowedHosts(allowHosts);
  const lookup = options.lookup ?? defaultLookup;
  const connect = options.connect ?? buildConnector({ timeout: options.connectTimeoutMs ?? 10_000 });

  return (connectOptions, callback) => {
    const hostname = canonicalHost(connectOptions.hostname);
    const port = effectivePort(connectOptions.protocol, connectOptions.port);
    checkedAddresses(hostname, port, allowed, lookup).then(
      (addresses) => connectToFirst(addresses, connectOptions, connect, callback),
      (error: unknown) => callback(toError(error), null),
    );
  };
}

async function checkedAddresses(
  hostname: string,
  port: number,
  allowed: AllowedHosts,
  lookup: HostLookup,
): Promise<string[]> {
  const addresses = isIP(hostname) === 0 ? await lookup(hostname) : [hostname];
  if (addresses.length === 0) throw new ValidationError(`input url host could not be resolved: ${hostname}`);
  if (!allowed.allows(hostname, port) && addresses.some(isBlockedAddress)) throw blockedHostError(hostname);
  return addresses;
}

/** Tries each checked address in turn, as a resolver-driven client would. */
function connectToFirst(
  addresses: string[],
  connectOptions: buildConnector.Options,
  connect: buildConnector.connector,
  callback: buildConnector.Callback,
): void {
  let lastError: Error | undefined;
  const attempt = (index: number): void => {
    const address = addresses[index];
    if (address === undefined) {
      callback(lastError ?? new Error("no address to connect to"), null);
      return;
    }
    try {
      connect({ ...connectOptions, hostname: address }, (error, socket) => {
        if (error === null) {
          callback(null, socket);
          return;
        }
        lastError = error;
        attempt(index + 1);
      });
    } catch (error) {
      lastError = toError(error);
      attempt(index + 1);
    }
  };
  attempt(0);
}

export function effectivePort(protocol: string, port: string | number): number {
  const explicit = Number(port);
  if (port !== "" && Number.isInteger(explicit) && explicit > 0) return explicit;
  return protocol === "https:" ? 443 : 80;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
