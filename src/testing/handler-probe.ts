import type { ManifestFunction } from "../contract/manifest.js";
import type { HandlerTable } from "../runtime/executor.js";

type Handler = (...args: unknown[]) => unknown;

/**
 * Watches the handlers for what they throw, so a failed run can show the handler's own stack
 * (production reports only `<ErrorClass>: <message>`). The wrapped handlers behave exactly as the
 * originals: same arguments, same values, same errors; a stream's iterator is passed through
 * step by step.
 */
export class HandlerProbe {
  private readonly thrown = new Map<string, unknown>();

  /** The handler table with every manifest function wrapped. */
  wrap(handlers: HandlerTable, functions: readonly ManifestFunction[]): HandlerTable {
    const wrapped: Record<string, unknown> = { ...handlers };
    for (const fn of functions) {
      const handler = handlers[fn.export];
      if (typeof handler === "function") {
        wrapped[fn.export] = this.watch(handler as Handler, fn.output_mode === "incremental");
      }
    }
    return wrapped;
  }

  /** What the handler of this run threw first, if anything; forgotten once taken. */
  take(runId: string): unknown {
    const error = this.thrown.get(runId);
    this.thrown.delete(runId);
    return error;
  }

  private watch(handler: Handler, streaming: boolean): Handler {
    const probe = this;
    return function watched(this: unknown, ...args: unknown[]): unknown {
      const runId = String((args[0] as { runId?: unknown } | undefined)?.runId ?? "");
      const record = (error: unknown) => {
        if (!probe.thrown.has(runId)) probe.thrown.set(runId, error);
      };
      const value = guard(() => handler.apply(this, args), record);
      if (isThenable(value)) {
        return Promise.resolve(value).then(
          (settled) => (streaming ? watchIterable(settled, record) : settled),
          (error: unknown) => {
            record(error);
            throw error;
          },
        );
      }
      return streaming ? watchIterable(value, record) : value;
    };
  }
}

function guard<T>(call: () => T, record: (error: unknown) => void): T {
  try {
    const value = call();
    if (isThenable(value)) {
      return Promise.resolve(value).catch((error: unknown) => {
        record(error);
        throw error;
      }) as T;
    }
    return value;
  } catch (error) {
    record(error);
    throw error;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function"
  );
}

/** The same stream, each step watched; values that are not iterable pass unchanged. */
function watchIterable(value: unknown, record: (error: unknown) => void): unknown {
  if (value === null || typeof value !== "object") return value;
  const asyncFactory = (value as AsyncIterable<unknown>)[Symbol.asyncIterator];
  const syncFactory = (value as Iterable<unknown>)[Symbol.iterator];
  const isAsync = typeof asyncFactory === "function";
  if (!isAsync && typeof syncFactory !== "function") return value;
  const iterator = guard(
    () => (isAsync ? asyncFactory.call(value) : (syncFactory as () => Iterator<unknown>).call(value)),
    record,
  ) as Iterator<unknown> & AsyncIterator<unknown>;
  const watched: Record<string | symbol, unknown> = {
    next: (...args: [] | [unknown]) => guard(() => iterator.next(...args), record),
  };
  if (typeof iterator.return === "function") {
    watched.return = (result?: unknown) => guard(() => iterator.return?.(result), record);
  }
  if (typeof iterator.throw === "function") {
    watched.throw = (error?: unknown) => guard(() => iterator.throw?.(error), record);
  }
  watched[isAsync ? Symbol.asyncIterator : Symbol.iterator] = () => watched;
  return watched;
}
