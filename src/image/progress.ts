import { stripVTControlCharacters } from "node:util";

/** One JSON message of the Docker Engine's build, pull or push stream. */
export interface EngineEvent {
  stream?: string;
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: { ID?: string; Digest?: string };
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

export interface Step {
  number: number;
  total: number;
  instruction: string;
  startedAt: number;
}

export interface StepFailure {
  step?: Step;
  message: string;
  /** The failing step's last output lines. */
  lines: string[];
}

const KEEP_LINES = 15;
const STEP = /^Step (\d+)\/(\d+) : (.*)$/;
/** The engine's own lines between steps (`---> Running in 1f2e`, `---> Using cache`, ...). */
const ENGINE_LINE = /^( ---> |Removing intermediate container |Successfully built |Successfully tagged )/;

/**
 * Follows a legacy-builder build stream: the step in progress (`Step 3/9 : RUN npm ci`), its
 * last output lines, the image id (`aux.ID`) and the failure, which the engine sends as an
 * `error` event rather than by failing the request.
 */
export class BuildProgress {
  step: Step | undefined;
  imageId: string | undefined;
  failure: StepFailure | undefined;
  private lines: string[] = [];
  private partial = "";

  constructor(
    private readonly onStep: (step: Step, previous: Step | undefined) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  handle(event: EngineEvent): void {
    if (event.stream !== undefined) this.text(event.stream);
    if (event.status !== undefined && event.status !== "") this.pushLine(pullLine(event));
    if (event.aux?.ID) this.imageId = event.aux.ID;
    if (event.error !== undefined) {
      this.flushPartial();
      this.failure = {
        ...(this.step ? { step: this.step } : {}),
        message: (event.errorDetail?.message ?? event.error).trim(),
        lines: [...this.lines],
      };
    }
  }

  private text(chunk: string): void {
    // The legacy builder paints a RUN step's stderr red with ANSI codes.
    const parts = (this.partial + stripVTControlCharacters(chunk)).split("\n");
    this.partial = parts.pop() ?? "";
    for (const line of parts) this.line(line.replace(/\r$/, ""));
  }

  private flushPartial(): void {
    if (this.partial !== "") this.line(this.partial);
    this.partial = "";
  }

  private line(line: string): void {
    const step = STEP.exec(line);
    if (step) {
      const previous = this.step;
      this.step = {
        number: Number(step[1]),
        total: Number(step[2]),
        instruction: step[3] ?? "",
        startedAt: this.now(),
      };
      this.lines = [];
      this.onStep(this.step, previous);
      return;
    }
    if (ENGINE_LINE.test(line) || line.trim() === "") return;
    this.pushLine(line);
  }

  private pushLine(line: string): void {
    this.lines.push(line);
    if (this.lines.length > KEEP_LINES) this.lines.shift();
  }
}

function pullLine(event: EngineEvent): string {
  return event.id ? `${event.id}: ${event.status}` : (event.status ?? "");
}

/** `RUN npm ci --omit=dev ...` cut to `width` characters. */
export function shorten(text: string, width: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= width ? flat : `${flat.slice(0, Math.max(0, width - 1))}…`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Shows a build as it runs. On a terminal: one line per finished step with its time, and a
 * live line for the step in progress; elsewhere (CI logs): one line as each step starts.
 */
export class ProgressView {
  private timer: NodeJS.Timeout | undefined;
  private current: Step | undefined;
  private readonly started: number;

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
    private readonly width = 100,
  ) {
    this.started = Date.now();
  }

  step(step: Step, previous: Step | undefined): void {
    if (this.tty) {
      if (previous) this.write(`\r\x1b[K${this.describe(previous, step.startedAt)}\n`);
      this.current = step;
      this.timer ??= setInterval(() => this.redraw(), 200);
      this.redraw();
    } else {
      this.write(`  [${step.number}/${step.total}] ${shorten(step.instruction, this.width)}\n`);
    }
  }

  /** Ends the live line; `ok` keeps the last step's line. */
  end(ok: boolean): number {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.current) {
      this.write(ok ? `\r\x1b[K${this.describe(this.current, Date.now())}\n` : "\r\x1b[K");
    }
    return Date.now() - this.started;
  }

  private redraw(): void {
    if (this.current) this.write(`\r\x1b[K${this.describe(this.current, Date.now())}`);
  }

  private describe(step: Step, until: number): string {
    const prefix = `  [${step.number}/${step.total}] `;
    const time = ` ${seconds(until - step.startedAt)}`;
    return `${prefix}${shorten(step.instruction, this.width - prefix.length - time.length - 1)}${time}`;
  }
}
