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

export function terminalOutput(noColor: boolean): Output {
  const colour = process.stderr.isTTY === true && !noColor;
  const paint = (style: "yellow" | "red", text: string) => (colour ? styleText(style, text) : text);
  const log = new BatchedLines((text) => process.stderr.write(text));
  // Other messages flush the batched lines first, so stderr stays in order.
  const message = (text: string) => {
    log.flush();
    process.stderr.write(`${text}\n`);
  };
  return {
    async writeResult(text, file) {
      if (file) await writeFile(file, text);
      else process.stdout.write(text);
    },
    info: (text) => message(text),
    logLine: (line) => log.add(line),
    warn: (text) => message(`${paint("yellow", "warning:")} ${text}`),
    error: (text) => message(`${paint("red", "error:")} ${text}`),
  };
}

const LOG_FLUSH_MS = 100;
const MAX_BATCH_LINES = 200;

/** Lines are gathered and written every 100 ms (or every 200 lines): few writes under load. */
class BatchedLines {
  private pending: string[] = [];

  constructor(private readonly write: (text: string) => void) {
    process.once("exit", () => this.flush());
  }

  add(line: string): void {
    if (this.pending.length === 0) setTimeout(() => this.flush(), LOG_FLUSH_MS).unref();
    this.pending.push(line);
    // Writes to a pipe are synchronous: keep each one well under the pipe's 64 KiB buffer.
    if (this.pending.length >= MAX_BATCH_LINES) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const text = `${this.pending.join("\n")}\n`;
    this.pending = [];
    this.write(text);
  }
}
