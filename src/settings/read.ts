import { UserError } from "../contract/user-errors.js";

/** The environment a process was started with; only src/settings/ reads it. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The environment of this process. */
export function processEnvironment(): Environment {
  return process.env;
}

/** Environment variables that are set wrongly; each problem names the variable and the fix. */
export class EnvironmentError extends UserError {
  declare readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join("\n"), { problems, exitCode: 2 });
  }
}

const TRUTHY = new Set(["1", "true", "t", "yes", "y"]);

/**
 * Reads variables of one environment, collecting every malformed one as a problem (one sentence
 * with the fix) instead of stopping at the first; {@link done} throws them all at once. Blank
 * values count as unset.
 */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Environment) {}

  /** The trimmed value, or undefined when unset or blank. */
  text(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value ? value : undefined;
  }

  /** The first of `names` that is set, trimmed. */
  firstText(...names: string[]): string | undefined {
    for (const name of names) {
      const value = this.text(name);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /** A variable read either in capitals or in lower case (the proxy variables), lower case first. */
  eitherCase(name: string): string | undefined {
    return this.text(name.toLowerCase()) ?? this.text(name);
  }

  /** On for 1, true, t, yes or y (any case), off otherwise. */
  flag(name: string): boolean {
    return TRUTHY.has((this.env[name] ?? "").trim().toLowerCase());
  }

  /** A comma-separated list, items trimmed, empty items dropped. */
  list(name: string): string[] {
    return (this.env[name] ?? "")
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean);
  }

  /** A whole number of at least `min`; `meaning` explains special values, e.g. "0 = unlimited". */
  count(name: string, fallback: number, meaning?: string, min = 0): number {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < min) {
      const explained = meaning ? ` (${meaning})` : "";
      this.problems.push(
        `${name} must be a whole number of ${min} or more${explained}, got "${raw}"; leave it unset for ${fallback}`,
      );
      return fallback;
    }
    return value;
  }

  /** A duration in seconds (fractions allowed), returned in milliseconds. */
  seconds(name: string, fallbackSeconds: number, meaningOfZero?: string): number {
    const raw = this.text(name);
    if (raw === undefined) return fallbackSeconds * 1000;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) {
      const zero = meaningOfZero ? `; ${meaningOfZero}` : "";
      this.problems.push(
        `${name} must be a number of seconds, 0 or more (e.g. 1 or 0.5${zero}), got "${raw}"; leave it unset for ${fallbackSeconds}`,
      );
      return fallbackSeconds * 1000;
    }
    return Math.round(value * 1000);
  }

  /** A non-negative decimal number such as a size in GB; undefined when unset. */
  amount(name: string, unit: string): number | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!/^\d+(\.\d*)?$|^\.\d+$/.test(raw) || !Number.isFinite(value)) {
      this.problems.push(`${name} must be a non-negative number of ${unit}, got ${JSON.stringify(raw)}`);
      return undefined;
    }
    return value;
  }

  /** One of `allowed` (case-insensitive); `fallback` when unset. */
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const value = raw.toLowerCase();
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(
      `${name} must be one of ${allowed.join(", ")}, got "${raw}"; leave it unset for ${fallback}`,
    );
    return fallback;
  }

  /** Adds a problem found by a caller's own check. */
  problem(message: string): void {
    this.problems.push(message);
  }

  /** Throws an {@link EnvironmentError} listing every problem found, if any. */
  done(): void {
    if (this.problems.length > 0) throw new EnvironmentError(this.problems);
  }
}
