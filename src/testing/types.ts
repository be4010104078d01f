/**
 * Types of the test kit's results, and the typing of `run` from the handlers' own module:
 * `testKit<typeof import("../src/main.js")>(dir)` makes `kit.run("card", payload)` check the
 * payload and type the output from the handler's signature.
 */
import type { ErrorType } from "../contract/errors.js";
import type { RunEvent } from "../contract/events.js";
import type { ActionContext, Asset, LogLevel } from "../contract/handler-api.js";
import type { AssetWire } from "../runtime/files/asset.js";

/** A failed run, as production reports it, plus the stack of what the handler threw. */
export interface RunError {
  errorType: ErrorType;
  retryable: boolean;
  /** What an end user sees: sanitized, at most 500 characters. */
  safeMessage: string;
  /** For operators: `<ErrorClass>: <message>`. */
  errorMessage: string;
  /** The stack of the error the handler threw (source-mapped), when it threw one. */
  stack?: string;
}

/** One run of an endpoint, as the kit saw it. */
export interface RunOutcome<Output = unknown, Delta = Record<string, unknown>> {
  runId: string;
  success: boolean;
  /** A single output as JSON data (Assets in their wire form); null for streams and failures. */
  output: Output | null;
  /** A stream's deltas, in order (the `output.delta` events). */
  deltas: Delta[];
  /** Every event of the run, in order: metrics, progress, logs, custom events, deltas. */
  events: RunEvent[];
  /** `ctx.progress` calls, in order. */
  progress: { progress: number; stage?: string }[];
  /** `ctx.log` calls, in order. */
  logs: { message: string; level: LogLevel }[];
  /** The run's saved output files, by name under `runs/<run_id>/outputs/` (`"card.svg"`). */
  files: Record<string, Uint8Array>;
  error?: RunError;
  /** The run was canceled because its timeout passed. */
  timedOut: boolean;
  totalMs: number;
}

export type { AssetWire };

/**
 * What a payload's Asset field takes in `kit.run`: a ref the kit serves (a file of its `files`
 * option or one added with `kit.addFile`), or the bytes themselves, which the kit serves for you.
 */
export type AssetInput = { ref: string } | Uint8Array;

type Primitive = string | number | boolean | null | undefined;

/** A payload type as `kit.run` takes it: Asset fields become {@link AssetInput}. */
export type PayloadInput<T> = T extends Primitive
  ? T
  : T extends Asset
    ? AssetInput
    : T extends Uint8Array
      ? T
      : { [K in keyof T]: PayloadInput<T[K]> };

/** A value after its JSON round trip: Assets in their wire form. */
export type JsonOf<T> = T extends Primitive
  ? T
  : T extends Asset
    ? AssetWire
    : { [K in keyof T]: JsonOf<T[K]> };

// biome-ignore lint/suspicious/noExplicitAny: a handler's payload and models may be of any type.
type AnyHandler = (ctx: ActionContext, input: any, ...models: any[]) => unknown;

/** The names of the handlers a module exports. */
export type HandlerNames<M> = { [K in keyof M]: M[K] extends AnyHandler ? K : never }[keyof M] & string;

type Returned<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;
type Streamed<R> = R extends string | readonly unknown[]
  ? never
  : R extends AsyncIterable<infer D>
    ? D
    : R extends Iterable<infer D>
      ? D
      : never;

/** The payload a handler takes, as `kit.run` takes it. */
// biome-ignore lint/suspicious/noExplicitAny: any models.
export type PayloadOf<F> = F extends (ctx: ActionContext, input: infer P, ...models: any[]) => unknown
  ? PayloadInput<P>
  : never;

/** A single-output handler's output as JSON data; `null` for a streaming handler. */
export type OutputOf<F> = [Streamed<Returned<F>>] extends [never] ? JsonOf<Returned<F>> : null;

/** A streaming handler's delta as JSON data. */
export type DeltaOf<F> = [Streamed<Returned<F>>] extends [never]
  ? Record<string, unknown>
  : JsonOf<Streamed<Returned<F>>>;

/** Endpoint names `run` accepts: the handlers' names when the module's type is given, else any string. */
export type EndpointName<M> = unknown extends M ? string : HandlerNames<M>;

/** The payload `run` takes for endpoint `K`. */
export type PayloadFor<M, K> = unknown extends M ? unknown : K extends keyof M ? PayloadOf<M[K]> : never;

/** What `run` resolves to for endpoint `K`. */
export type OutcomeFor<M, K> = unknown extends M
  ? RunOutcome
  : K extends keyof M
    ? RunOutcome<OutputOf<M[K]>, DeltaOf<M[K]>>
    : never;
