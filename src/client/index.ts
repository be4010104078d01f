/**
 * `gen-worker/client`: a typed client for a project's endpoints, its types read from the handlers
 * themselves:
 *
 *   import { createClient } from "gen-worker/client";
 *   const client = createClient<typeof import("./src/main.js")>({ url: "http://127.0.0.1:8081" });
 *   const { greeting } = await client.run("hello", { name: "world" });
 *
 * Light on purpose: the runtime is fetch and a small event-stream reader, and the handler module
 * is only ever a type (`typeof import(...)` loads nothing).
 */
import { type AssetRef, type Client, type ClientOptions, createEndpointClient } from "./runtime.js";

export * from "./runtime.js";

/** What tells a handler's first parameter (an `ActionContext`) from any other function's. */
interface ContextLike {
  readonly runId: string;
  readonly signal: AbortSignal;
  progress(fraction: number, stage?: string): void;
}

/** The handler-side `Asset`; on the wire it is an {@link AssetRef}. */
interface AssetLike {
  readonly ref: string;
  readBytes(maxBytes?: number): Promise<Uint8Array>;
}

type Primitive = number | boolean | bigint | symbol | null | undefined;

/**
 * A payload or output type as JSON carries it: an `Asset` becomes an {@link AssetRef}, a string
 * enum the union of its values; everything else stays as it is.
 */
export type Wire<T> = T extends AssetLike
  ? AssetRef
  : T extends string
    ? `${T}`
    : T extends Primitive
      ? T
      : { [K in keyof T]: Wire<T[K]> };

/** The delta type of a streaming return type (`AsyncGenerator<T>`, `Iterable<T>`, ...); never for a single output. */
type DeltaOf<R> =
  R extends AsyncIterable<infer D>
    ? D
    : R extends string | readonly unknown[]
      ? never
      : R extends Iterable<infer D>
        ? D
        : never;

/** One handler's endpoint types; never for an export that is no handler. */
type EndpointOf<F> = F extends (ctx: infer C, payload: infer P, ...models: never[]) => infer R
  ? [C] extends [ContextLike]
    ? [DeltaOf<Awaited<R>>] extends [never]
      ? { payload: Wire<P>; result: Wire<Awaited<R>> }
      : { payload: Wire<P>; delta: Wire<DeltaOf<Awaited<R>>> }
    : never
  : never;

/**
 * The endpoints of a handler module, by export name: `{payload, result}` for a single output,
 * `{payload, delta}` for a stream. The context and injected models are left out.
 */
export type HandlerEndpoints<M> = {
  [K in keyof M as K extends string ? ([EndpointOf<M[K]>] extends [never] ? never : K) : never]: EndpointOf<
    M[K]
  >;
};

/**
 * A client for the handlers of module `M` (`typeof import("./src/main.js")`) on the runner at
 * `options.url`. Endpoints are named by the handler's exported function name.
 */
export function createClient<M>(options: ClientOptions): Client<HandlerEndpoints<M>> {
  return createEndpointClient<HandlerEndpoints<M>>(options);
}
