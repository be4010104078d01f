import { UserError } from "../contract/user-errors.js";
import { splitHostPort } from "../util/host-port.js";
/** A command line that cannot work as given: printed without a stack, exit code 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

/** `host:port`, `:port` or `port` (host 127.0.0.1); IPv6 as `[::1]:8081`. */
export function parseListenAddress(text: string): { host: string; port: number } {
  const address = splitHostPort(text, "127.0.0.1");
  if (!address) {
    throw new UsageError(
      `--listen "${text}" is not host:port: write for example 127.0.0.1:8081 or 0.0.0.0:8081`,
    );
  }
  return address;
}
