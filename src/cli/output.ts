import { writeFile } from "node:fs/promises";
import { styleText } from "node:util";

export const ExitCode = { Success: 0, Failure: 1, Usage: 2 } as const;

/** Where commands print: data to stdout, messages to stderr, colour only on a terminal. */
export interface Output {
  writeResult(text: string, file?: string): Promise<void>;
  info(message: string): void;
  /** A line of a high-volume log (one per request): written in batches every 100 ms. */
  logLine(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function terminalOutput(): Output {
  const colour = process.stderr.isTTY === true && !process.env.NO_COLOR;
  const paint = (style: "yellow" | "red", text: string) => (colour ? styleText(style, text) : text);
  return {
    async writeResult(text, file) {
      if (file) await writeFile(file, text);
      else process.stdout.write(text);
    },
    info: (message) => process.stderr.write(`${message}\n`),
    logLine: batchedWriter((text) => process.stderr.write(text)),
    warn: (message) => process.stderr.write(`${paint("yellow", "warning:")} ${message}\n`),
    error: (message) => process.stderr.write(`${paint("red", "error:")} ${message}\n`),
  };
}

const LOG_FLUSH_MS = 100;

/** Lines are gathered and written every 100 ms: one write instead of thousands under load. */
function batchedWriter(write: (text: string) => void): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    const text = `${pending.join("\n")}\n`;
    pending = [];
    write(text);
  };
  process.once("exit", () => {
    if (pending.length > 0) flush();
  });
  return (line) => {
    if (pending.length === 0) setTimeout(flush, LOG_FLUSH_MS).unref();
    pending.push(line);
  };
}
