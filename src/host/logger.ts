import { pino } from "pino";

/** Structured logs (JSON lines on stderr). Tokens are never logged: they go only into gRPC metadata. */
export type Logger = Pick<pino.Logger, "info" | "warn" | "error" | "debug" | "child">;

/** Logs at `level` (`LOG_LEVEL`; pino's levels). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}
