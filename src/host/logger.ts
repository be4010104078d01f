import { pino } from "pino";

/** Structured logs (JSON lines on stderr). Tokens are never logged: they go only into gRPC metadata. */
export type Logger = Pick<pino.Logger, "info" | "warn" | "error" | "debug" | "child">;

export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}
