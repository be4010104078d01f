import type { Output } from "./output.js";

/**
 * A tenant's stray promise or callback must not take the server down with every run in flight:
 * report it and keep serving.
 */
export function installCrashGuards(out: Output): void {
  process.on("unhandledRejection", (reason) => {
    out.error(`unhandled promise rejection in handler code (the server keeps running): ${describe(reason)}`);
  });
  process.on("uncaughtException", (error) => {
    out.error(`uncaught exception in handler code (the server keeps running): ${describe(error)}`);
  });
}

function describe(value: unknown): string {
  return value instanceof Error ? (value.stack ?? value.message) : String(value);
}
