/**
 * `host:port`, `[v6]:port`, `:port` or a bare `port` → parts, the host without brackets and
 * `defaultHost` when none is written; undefined when the text is none of these.
 */
export function splitHostPort(text: string, defaultHost: string): { host: string; port: number } | undefined {
  const match = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) return undefined;
  return { host: match[1] ?? (match[2] || defaultHost), port };
}

/** A listen address; an empty host means all interfaces. Throws an error with an example otherwise. */
export function listenAddress(text: string, examplePort: number): { host: string; port: number } {
  const address = splitHostPort(text, "0.0.0.0");
  if (!address) {
    throw new Error(
      `"${text}" is not host:port: write for example 127.0.0.1:${examplePort} or 0.0.0.0:${examplePort}`,
    );
  }
  return address;
}

/** `host:port`, with an IPv6 host in brackets. */
export function joinHostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
