import type { InferenceSession, Tensor } from "onnxruntime-node";
import type { BatchSpec } from "../../contract/model-spec.js";
import type { SessionLog } from "../sessions/execution-providers.js";
import { type Batchability, batchability, callShape } from "./batch-shape.js";
import { SessionBatcher } from "./session-batcher.js";

type Outputs = InferenceSession.ReturnType;

/**
 * Runs one ONNX Runtime call with the model host's out-of-memory recovery around it (evict models not
 * in use, retry once, else a retryable `resource` error).
 */
export type RunGuard = (run: () => Promise<Outputs>) => Promise<Outputs>;

/**
 * The worker's side of one loaded session, shared by every run that uses it: whether its graph can
 * batch, and the batcher its batched calls queue in.
 */
export class SessionServing {
  readonly batchability: Batchability;
  private batcher: SessionBatcher | undefined;
  /** Set once a run asked for batching on a graph that cannot batch, so that it is said only once. */
  private warnedUnbatchable = false;

  constructor(
    readonly session: InferenceSession,
    /** `<model id> <graph>`, for messages. */
    readonly label: string,
    private readonly guard: RunGuard,
    private readonly log: SessionLog,
  ) {
    this.batchability = batchability(session);
  }

  /** Calls queued for a batch right now. */
  get waiting(): number {
    return this.batcher?.waiting ?? 0;
  }

  /** A plain call: exactly `session.run` with the out-of-memory recovery. */
  run(feeds: InferenceSession.FeedsType, fetches?: unknown, options?: unknown): Promise<Outputs> {
    const session = this.session as unknown as {
      run(feeds: unknown, fetches?: unknown, options?: unknown): Promise<Outputs>;
    };
    if (fetches === undefined && options === undefined) return this.guard(() => session.run(feeds));
    if (options === undefined) return this.guard(() => session.run(feeds, fetches));
    return this.guard(() => session.run(feeds, fetches, options));
  }

  /** A call that may join other runs' calls of the same shape; else it runs alone. */
  batched(
    feeds: InferenceSession.FeedsType,
    spec: BatchSpec,
    signal: AbortSignal | undefined,
    onRun: (rows: number) => void,
  ): Promise<Outputs> {
    if (!this.batchability.batchable) {
      if (!this.warnedUnbatchable) {
        this.warnedUnbatchable = true;
        this.log.warn(
          { session: this.label, reason: this.batchability.reason },
          `${this.label} cannot batch: ${this.batchability.reason}; its calls run one at a time (remove batch from its cozy.toml entry)`,
        );
      }
      return this.unbatched(feeds, onRun);
    }
    const shape = callShape(feeds, this.session);
    if ("alone" in shape) return this.unbatched(feeds, onRun);
    this.batcher ??= new SessionBatcher(
      (batch) => this.guard(() => this.session.run(batch)),
      this.label,
      this.log,
    );
    return this.batcher.submit(feeds as Readonly<Record<string, Tensor>>, {
      key: shape.key,
      rows: shape.rows,
      spec,
      onRun,
      ...(signal ? { signal } : {}),
    });
  }

  private unbatched(feeds: InferenceSession.FeedsType, onRun: (rows: number) => void): Promise<Outputs> {
    const first = Object.values(feeds as Record<string, { dims?: readonly number[] }>)[0]?.dims?.[0];
    onRun(typeof first === "number" ? first : 1);
    return this.run(feeds);
  }
}

/** What a run's view of a session knows about the run. */
export interface ServedContext {
  /** The key's `batch` settings; without them every call runs alone. */
  batch?: BatchSpec;
  /** The run's cancellation, which takes a call out of a batch that has not run yet. */
  signal?: AbortSignal;
  /** Told the rows of the ONNX Runtime call each batched call ran in (metrics). */
  onRun?: (rows: number) => void;
}

/**
 * The `InferenceSession` a handler gets: the real session's names and metadata, `run` through the
 * worker (batching when the key asks for it and the call allows it: plain feeds, no fetches or run
 * options), profiling passed through, and `release()` doing nothing, because the worker owns the
 * session and other runs use it.
 */
export function servedSession(serving: SessionServing, context: ServedContext): InferenceSession {
  const { session } = serving;
  const { batch, signal, onRun = () => {} } = context;
  const served = {
    get inputNames() {
      return session.inputNames;
    },
    get outputNames() {
      return session.outputNames;
    },
    get inputMetadata() {
      return session.inputMetadata;
    },
    get outputMetadata() {
      return session.outputMetadata;
    },
    run(feeds: InferenceSession.FeedsType, fetches?: unknown, options?: unknown): Promise<Outputs> {
      if (batch !== undefined && fetches === undefined && options === undefined) {
        return serving.batched(feeds, batch, signal, onRun);
      }
      return serving.run(feeds, fetches, options);
    },
    release: async (): Promise<void> => {},
    startProfiling: () => session.startProfiling(),
    endProfiling: () => session.endProfiling(),
  };
  INNER.set(served, session);
  return Object.freeze(served) as unknown as InferenceSession;
}

const INNER = new WeakMap<object, InferenceSession>();

/** The real session behind a handler's session (itself when it is one); for tests and diagnostics. */
export function innerSession(session: InferenceSession): InferenceSession {
  return INNER.get(session) ?? session;
}
