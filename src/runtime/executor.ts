import { CanceledError, FatalError, ResourceError, ValidationError } from "../contract/errors.js";
import type { EventName, EventPayloads, EventSink, RunEvent, RunMetrics } from "../contract/events.js";
import type { Manifest, ManifestFunction } from "../contract/manifest.js";
import {
  type ModelLease,
  type ModelProvider,
  type ModelsReport,
  worstCacheState,
} from "../contract/model-lease.js";
import type { Rejection, RunFailure, RunResult, TaskRequest } from "../contract/task.js";
import type { RuntimeSettings } from "../settings/runtime.js";
import { withTimeout } from "../util/with-timeout.js";
import { Cancellation, startTimer } from "./cancellation.js";
import { rfc3339Micro } from "./clock.js";
import { RunContext } from "./context.js";
import { describeFailure } from "./error-mapping.js";
import { resolveFileApi } from "./files/file-api.js";
import { materializeAssets, removeRunInputs } from "./files/materialize.js";
import { runIdProblem } from "./files/output-ref.js";
import { LocalOutputStore, type OutputStore, RemoteOutputStore } from "./files/output-store.js";
import { itersPerSecond, type MetricHints, metricHints } from "./metric-hints.js";
import { checkPayloadShape } from "./payload-shape.js";
import { peakRamBytes } from "./peak-memory.js";
import { describeValidationErrors, ValidatorSet } from "./validation.js";

/** A tenant module's exports, by export name. */
export type HandlerTable = Readonly<Record<string, unknown>>;

export interface ExecutorOptions {
  manifest: Manifest;
  handlers: HandlerTable;
  settings: RuntimeSettings;
  /** Local output backend (dev runner): saves go to `<outputsDir>/runs/<run_id>/outputs/`. */
  outputsDir?: string;
  /** Encodes single outputs for the wire (msgpack for gRPC); its size is what `maxOutputBytes` limits. */
  encodeOutput?: (output: unknown) => Uint8Array;
  /** Receives every event of every run (the transport's outbox). */
  onEvent?: EventSink;
  /** Loads the models handlers inject; required when any function injects one. */
  models?: ModelProvider;
}

interface ActiveRun {
  cancellation: Cancellation;
  settled: Promise<RunResult>;
}

/**
 * Runs tasks: admission, payload validation, input files, the handler itself (single or
 * streaming), output checks, cancellation, timeouts, and the Python SDK's events in order.
 * Transport-free: the dev HTTP runner and the gRPC worker both drive it.
 */
export class Executor {
  private readonly functions = new Map<string, ManifestFunction>();
  private readonly validators: ValidatorSet;
  private readonly active = new Map<string, ActiveRun>();
  private readonly inFlightByFunction = new Map<string, number>();
  /** Removals of run folders whose handlers have stopped; {@link drain} waits for them. */
  private readonly cleanups = new Set<Promise<void>>();
  private draining = false;

  constructor(private readonly options: ExecutorOptions) {
    for (const fn of options.manifest.functions) {
      const handler = options.handlers[fn.export];
      if (typeof handler !== "function") {
        throw new FatalError(
          `the manifest lists ${fn.name} as export "${fn.export}" of ${fn.module}, but the loaded module has no such function: rebuild the manifest (cozy-worker discover)`,
        );
      }
      if (fn.injection_json.length > 0 && !options.models) {
        throw new Error(`${fn.name} injects models, but this executor was built without a model provider`);
      }
      this.functions.set(fn.name, fn);
      this.functions.set(fn.endpoint_name, fn);
    }
    // The export name too (`export { detect as findText }`): what a typed client built from the
    // module's types calls. Names and endpoint names keep precedence.
    for (const fn of options.manifest.functions) {
      if (fn.export !== "default" && !this.functions.has(fn.export)) this.functions.set(fn.export, fn);
    }
    this.validators = new ValidatorSet(options.manifest.functions);
  }

  /** Functions by manifest name, sorted. */
  functionNames(): string[] {
    return this.options.manifest.functions.map((fn) => fn.name).sort();
  }

  /** The manifest's functions, with their schemas and modes (the dev runner lists them). */
  manifestFunctions(): readonly ManifestFunction[] {
    return this.options.manifest.functions;
  }

  /** Whether a function of this name or endpoint slug exists. */
  has(functionName: string): boolean {
    return this.functions.has(functionName);
  }

  /** Whether a run with this id is in flight. */
  isRunning(runId: string): boolean {
    return this.active.has(runId);
  }

  get inFlight(): number {
    return this.active.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Runs one task to its result. Never rejects: every failure is a result. */
  run(task: TaskRequest, onEvent?: EventSink): Promise<RunResult> {
    const started = performance.now();
    const fn = this.functions.get(task.functionName);
    const refusal = this.admit(task, fn);
    if (refusal || !fn) {
      return Promise.resolve(refused(task, fn, refusal ?? unknownFunction(task), started));
    }
    const cancellation = new Cancellation();
    this.inFlightByFunction.set(fn.name, (this.inFlightByFunction.get(fn.name) ?? 0) + 1);
    const settled = this.execute(task, fn, cancellation, started, onEvent).finally(() => {
      this.active.delete(task.runId);
      this.inFlightByFunction.set(fn.name, (this.inFlightByFunction.get(fn.name) ?? 1) - 1);
    });
    this.active.set(task.runId, { cancellation, settled });
    return settled;
  }

  /** Cancels a run in flight; false when no such run is running. */
  cancel(runId: string, reason = "canceled by request"): boolean {
    const run = this.active.get(runId);
    if (!run) return false;
    run.cancellation.abort(new CanceledError(reason));
    return true;
  }

  /**
   * Stops admitting tasks, waits up to `timeoutMs` for runs in flight, cancels the rest and
   * waits for their results, which are delivered as usual.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const pending = () => [...this.active.values()].map((run) => run.settled);
    await withTimeout(Promise.allSettled(pending()), timeoutMs);
    for (const runId of this.active.keys()) this.cancel(runId, "worker shutting down");
    await Promise.allSettled(pending());
    await withTimeout(Promise.allSettled(this.cleanups), timeoutMs);
  }

  private admit(task: TaskRequest, fn: ManifestFunction | undefined): Refusal | undefined {
    if (!fn) return unknownFunction(task);
    const badRunId = runIdProblem(task.runId);
    if (badRunId) return { failure: describeFailure(new ValidationError(`invalid run id: ${badRunId}`)) };
    const { maxInputBytes, maxConcurrency } = this.options.settings;
    if (maxInputBytes > 0 && task.payloadBytes > maxInputBytes) {
      return {
        rejected: "too_large",
        failure: {
          errorType: "validation",
          retryable: false,
          safeMessage: "invalid input",
          errorMessage: `Input payload too large: ${task.payloadBytes} bytes (max ${maxInputBytes})`,
        },
      };
    }
    if (this.draining) return busy("draining", "Worker is draining: not accepting new runs.");
    if (this.active.has(task.runId)) {
      return {
        rejected: "duplicate",
        failure: {
          errorType: "validation",
          retryable: false,
          safeMessage: `run ${task.runId} is already running`,
          errorMessage: `Duplicate run_id: ${task.runId} is already running on this worker.`,
        },
      };
    }
    if (maxConcurrency > 0 && this.active.size >= maxConcurrency) {
      return busy("busy", `Worker concurrency limit reached (${maxConcurrency}).`);
    }
    const limit = fn.resources.max_concurrency;
    if (limit !== undefined && (this.inFlightByFunction.get(fn.name) ?? 0) >= limit) {
      return busy("busy", `Function concurrency limit reached for ${fn.name} (${limit}).`);
    }
    return undefined;
  }

  private async execute(
    task: TaskRequest,
    fn: ManifestFunction,
    cancellation: Cancellation,
    started: number,
    onEvent: EventSink | undefined,
  ): Promise<RunResult> {
    const globalSink = this.options.onEvent;
    const send = (event: RunEvent) => {
      deliver(onEvent, event);
      deliver(globalSink, event);
    };
    const emit: Emit = (type, payload) => send({ runId: task.runId, type, payload } as RunEvent);
    const timeoutMs = effectiveTimeout(task);
    const timeout =
      timeoutMs === undefined ? undefined : new CanceledError(`run timed out after ${timeoutMs} ms`);
    const stopTimer = timeout && startTimer(timeoutMs ?? 0, () => cancellation.abort(timeout));
    emit("metrics.compute.started", { at: rfc3339Micro() });
    let lease: ModelLease | undefined;
    // The handler (and a stream's closing) may outlive a cancel; its models stay pinned until it stops.
    const handlerWork: Promise<unknown>[] = [];
    let inferenceMs: number | undefined;
    let output: unknown = null;
    let encodedOutput: Uint8Array | undefined;
    let failure: RunFailure | undefined;
    let hints: MetricHints = {};
    try {
      const ctx = this.createContext(task, cancellation, send);
      const payload = await this.preparePayload(task, fn, cancellation);
      hints = metricHints(fn.input_schema, payload);
      lease = this.leaseModels(task, fn, payload, cancellation);
      const models = lease ? await cancellation.race(lease.load()) : [];
      const handler = this.options.handlers[fn.export] as (...args: unknown[]) => unknown;
      const call = () => {
        const called = invoke(handler, [ctx, payload, ...models]);
        handlerWork.push(called);
        return called;
      };
      const inferenceStart = performance.now();
      if (fn.output_mode === "incremental") {
        await this.stream(call, fn, cancellation, emit, handlerWork);
      } else {
        ({ output, encodedOutput } = await this.single(call, fn, cancellation));
      }
      inferenceMs = performance.now() - inferenceStart;
      if (cancellation.aborted) throw cancellation.reason;
    } catch (error) {
      failure = describeFailure(cancellation.aborted ? cancellation.reason : error);
      output = null;
      encodedOutput = undefined;
      if (fn.output_mode === "incremental") {
        emit("output.error", { error_type: failure.errorType, message: failure.safeMessage });
      }
    } finally {
      stopTimer?.();
      this.afterHandlerStops(task, fn, cancellation, lease, handlerWork);
    }
    emit("metrics.compute.completed", { at: rfc3339Micro() });
    const models = lease?.report();
    if (models) {
      emit("metrics.fetch", { ms: Math.round(models.fetchMs) });
      if (models.loadMs > 0) emit("metrics.gpu_load", { ms: Math.round(models.loadMs) });
    }
    if (!failure && inferenceMs !== undefined) emit("metrics.inference", { ms: Math.round(inferenceMs) });
    emit("metrics.run", runMetrics(fn, failure ? undefined : inferenceMs, models, hints));
    return {
      runId: task.runId,
      functionName: fn.name,
      success: failure === undefined,
      output,
      ...(encodedOutput ? { encodedOutput } : {}),
      errorType: failure?.errorType ?? "",
      retryable: failure?.retryable ?? false,
      safeMessage: failure?.safeMessage ?? "",
      errorMessage: failure?.errorMessage ?? "",
      timedOut: timeout !== undefined && cancellation.reason === timeout,
      totalMs: performance.now() - started,
    };
  }

  /**
   * Once the handler (and a stream's closing) has really stopped, which may be after a cancel:
   * releases its models and removes the run's input files unless `keepRunDirs`, or a new run of
   * the same id has started meanwhile (the files are its own then).
   */
  private afterHandlerStops(
    task: TaskRequest,
    fn: ManifestFunction,
    cancellation: Cancellation,
    lease: ModelLease | undefined,
    handlerWork: Promise<unknown>[],
  ): void {
    const { runDir, keepRunDirs } = this.options.settings;
    const usesRunDir = !keepRunDirs && hasAssets(fn);
    if (!lease && !usesRunDir) return;
    const stopped = Promise.allSettled(handlerWork);
    if (lease) void stopped.then(() => lease.release());
    if (!usesRunDir) return;
    const cleanup = stopped.then(() => {
      const current = this.active.get(task.runId);
      if (!current || current.cancellation === cancellation) {
        const { cacheDir, cacheMaxBytes } = this.options.settings;
        return removeRunInputs(runDir, task.runId, { dir: cacheDir, maxBytes: cacheMaxBytes });
      }
    });
    this.cleanups.add(cleanup);
    void cleanup.finally(() => this.cleanups.delete(cleanup));
  }

  private leaseModels(
    task: TaskRequest,
    fn: ManifestFunction,
    payload: unknown,
    cancellation: Cancellation,
  ): ModelLease | undefined {
    const { models, manifest } = this.options;
    if (!models || fn.injection_json.length === 0) return undefined;
    return models.lease({
      runId: task.runId,
      fn,
      keyspace: manifest.models_by_function?.[fn.name] ?? {},
      payload,
      signal: cancellation.signal,
    });
  }

  private createContext(task: TaskRequest, cancellation: Cancellation, send: EventSink): RunContext {
    let outputs: OutputStore | undefined | null = null;
    const timeoutMs = effectiveTimeout(task);
    return new RunContext({
      runId: task.runId,
      owner: task.owner ?? "",
      userId: task.userId ?? "",
      cancellation,
      deadline: timeoutMs === undefined ? null : Date.now() + timeoutMs,
      requiredModels: Object.freeze([...(task.requiredModels ?? [])]),
      send,
      outputs: () => {
        if (outputs === null) outputs = this.outputStore(task);
        return outputs;
      },
      maxOutputFileBytes: this.options.settings.maxOutputFileBytes,
    });
  }

  private outputStore(task: TaskRequest): OutputStore | undefined {
    const { outputsDir, settings } = this.options;
    const common = {
      runId: task.runId,
      owner: task.owner || null,
      maxFileBytes: settings.maxOutputFileBytes,
    };
    if (outputsDir) return new LocalOutputStore({ outputsDir, ...common });
    const api = resolveFileApi(task, settings.fileApi);
    return api ? new RemoteOutputStore({ api, ...common }) : undefined;
  }

  /** Validates (filling defaults) and materializes input files; failures are the client's. */
  private async preparePayload(
    task: TaskRequest,
    fn: ManifestFunction,
    cancellation: Cancellation,
  ): Promise<unknown> {
    const payload = task.payload;
    checkPayloadShape(payload, "invalid input: the payload");
    const validate = this.validators.get(fn.name).input;
    if (!validate(payload))
      throw new ValidationError(`invalid input: ${describeValidationErrors(validate.errors)}`);
    if (!hasAssets(fn)) return payload;
    const { settings } = this.options;
    const fileApi = resolveFileApi(task, settings.fileApi);
    return materializeAssets(payload, fn.input_schema, {
      runId: task.runId,
      owner: task.owner ?? "",
      runDir: settings.runDir,
      cacheDir: settings.cacheDir,
      cacheMaxBytes: settings.cacheMaxBytes,
      maxInputFileBytes: settings.maxInputFileBytes,
      downloadRetries: settings.downloadRetries,
      allowHosts: settings.inputUrlAllowHosts,
      ...(fileApi ? { fileApi } : {}),
      signal: cancellation.signal,
    });
  }

  private async single(
    call: () => Promise<unknown>,
    fn: ManifestFunction,
    cancellation: Cancellation,
  ): Promise<{ output: unknown; encodedOutput?: Uint8Array }> {
    const returned = await cancellation.race(call());
    const { value, json } = toJsonData(returned, fn.name);
    const validate = this.validators.get(fn.name).output;
    if (!validate(value)) {
      throw new TypeError(
        `${fn.name} returned an output that does not match its declared type: ${describeValidationErrors(validate.errors)}`,
      );
    }
    const { maxOutputBytes } = this.options.settings;
    const encodedOutput = this.options.encodeOutput?.(value);
    const size = encodedOutput?.byteLength ?? Buffer.byteLength(json);
    if (maxOutputBytes > 0 && size > maxOutputBytes) {
      throw new ResourceError(`Output payload too large: ${size} bytes (max ${maxOutputBytes})`);
    }
    return encodedOutput ? { output: value, encodedOutput } : { output: value };
  }

  private async stream(
    call: () => Promise<unknown>,
    fn: ManifestFunction,
    cancellation: Cancellation,
    emit: Emit,
    handlerWork: Promise<unknown>[],
  ): Promise<void> {
    const returned = await cancellation.race(call());
    const iterator = iteratorOf(returned, fn.name);
    const validate = this.validators.get(fn.name).output;
    const { maxDeltaBytes, maxDeltaEvents } = this.options.settings;
    let count = 0;
    try {
      while (true) {
        const step = await cancellation.race(Promise.resolve(iterator.next()));
        if (step.done) break;
        const { value, json } = toJsonData(step.value, fn.name);
        if (!validate(value)) {
          throw new TypeError(
            `${fn.name} yielded a delta that does not match its declared type: ${describeValidationErrors(validate.errors)}`,
          );
        }
        const tooBig = maxDeltaBytes > 0 && Buffer.byteLength(json) > maxDeltaBytes;
        emit("output.delta", tooBig ? { truncated: true } : (value as Record<string, unknown>));
        count++;
        if (maxDeltaEvents > 0 && count >= maxDeltaEvents) break;
      }
    } finally {
      // Stops the generator so its `finally` blocks run; after a cancel, give them a moment to
      // finish so their effects land before the result.
      const closing = Promise.resolve(iterator.return?.()).catch(() => {});
      handlerWork.push(closing);
      if (cancellation.aborted) await withTimeout(closing, STREAM_CLOSE_GRACE_MS);
    }
    if (cancellation.aborted) throw cancellation.reason;
    emit("output.completed", {});
  }
}

const STREAM_CLOSE_GRACE_MS = 100;

/** Sends one catalogue event of the run. */
type Emit = <K extends EventName>(type: K, payload: EventPayloads[K]) => void;

interface Refusal {
  /** Undefined for a refusal the contract has no word for (a bad run id): its error type says it. */
  rejected?: Rejection;
  failure: RunFailure;
}

/** The run's timeout in ms, if it has one: `timeout_ms` above 0 and finite (an infinite one never passes). */
function effectiveTimeout(task: TaskRequest): number | undefined {
  const { timeoutMs } = task;
  return timeoutMs !== undefined && timeoutMs > 0 && Number.isFinite(timeoutMs) ? timeoutMs : undefined;
}

/** Whether the function's payload may carry files, which are downloaded into the run's folder. */
function hasAssets(fn: ManifestFunction): boolean {
  const defs = fn.input_schema.$defs as Record<string, unknown> | undefined;
  return defs !== undefined && "Asset" in defs;
}

function unknownFunction(task: TaskRequest): Refusal {
  return {
    rejected: "unknown_function",
    failure: {
      errorType: "internal",
      retryable: false,
      safeMessage: "internal error",
      errorMessage: `Unknown function requested: ${task.functionName}`,
    },
  };
}

function busy(rejected: "busy" | "draining", errorMessage: string): Refusal {
  return {
    rejected,
    failure: { errorType: "retryable", retryable: true, safeMessage: "worker busy", errorMessage },
  };
}

function refused(
  task: TaskRequest,
  fn: ManifestFunction | undefined,
  refusal: Refusal,
  started: number,
): RunResult {
  return {
    runId: task.runId,
    functionName: fn?.name ?? task.functionName,
    success: false,
    output: null,
    ...refusal.failure,
    ...(refusal.rejected ? { rejected: refusal.rejected } : {}),
    timedOut: false,
    totalMs: performance.now() - started,
  };
}

/** Calls the handler; a synchronous throw becomes a rejection like an async one. */
function invoke(handler: (...args: unknown[]) => unknown, args: unknown[]): Promise<unknown> {
  try {
    return Promise.resolve(handler(...args));
  } catch (error) {
    return Promise.reject(error);
  }
}

function deliver(sink: EventSink | undefined, event: RunEvent): void {
  if (!sink) return;
  try {
    sink(event);
  } catch {
    // Events are best-effort: a failing listener must not fail the run.
  }
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

function iteratorOf(value: unknown, functionName: string): AnyIterator {
  if (value !== null && typeof value === "object") {
    const asyncFactory = (value as AsyncIterable<unknown>)[Symbol.asyncIterator];
    if (typeof asyncFactory === "function") return asyncFactory.call(value);
    const syncFactory = (value as Iterable<unknown>)[Symbol.iterator];
    if (typeof syncFactory === "function") return syncFactory.call(value);
  }
  throw new TypeError(`${functionName} is a streaming handler but returned ${typeof value}, not an iterable`);
}

/** The JSON form of a handler's value (Assets become their wire form); errors on what JSON cannot hold. */
function toJsonData(value: unknown, functionName: string): { value: unknown; json: string } {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(
      `${functionName} returned a value that is not JSON data: ${(error as Error).message}`,
    );
  }
  if (json === undefined)
    throw new TypeError(`${functionName} returned ${typeof value}, which is not JSON data`);
  return { value: JSON.parse(json), json };
}

function runMetrics(
  fn: ManifestFunction,
  inferenceMs: number | undefined,
  models: ModelsReport | undefined,
  hints: MetricHints,
): RunMetrics {
  const metrics: Omit<RunMetrics, "peak_ram_bytes"> = { schema_version: 1, function_name: fn.name };
  const cacheState = models && worstCacheState(models.models);
  if (cacheState) metrics.cache_state = cacheState;
  if (models && models.models.length > 0) metrics.models = models.models;
  if (models && models.loadMs > 0) metrics.gpu_load_ms = Math.round(models.loadMs);
  if (inferenceMs !== undefined) metrics.inference_ms = Math.round(inferenceMs);
  if (hints.steps !== undefined) metrics.steps = hints.steps;
  const itersPerS = itersPerSecond(hints.steps, metrics.inference_ms);
  if (itersPerS !== undefined) metrics.iters_per_s = itersPerS;
  if (hints.width !== undefined) metrics.width = hints.width;
  if (hints.height !== undefined) metrics.height = hints.height;
  if (hints.guidance !== undefined) metrics.guidance = hints.guidance;
  return { ...metrics, peak_ram_bytes: peakRamBytes() };
}
