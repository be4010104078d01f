import { ResourceError, ValidationError } from "../../contract/errors.js";
import { type DiskVolume, eventName, type RunEvent } from "../../contract/events.js";
import type { Manifest } from "../../contract/manifest.js";
import { canonicalizeModelRef } from "../../contract/model-ref.js";
import type { RunFailure, RunResult, TaskRequest } from "../../contract/task.js";
import type { Logger } from "../../host/logger.js";
import type { MachineInfo } from "../../host/machine-info.js";
import { createModelHost, type ModelHost } from "../../models/host/model-host.js";
import { describeFailure } from "../../runtime/error-mapping.js";
import { Executor, type HandlerTable } from "../../runtime/executor.js";
import { RealtimeHost } from "../../runtime/realtime/host.js";
import type { WorkerSettings } from "../../settings/worker.js";
import { checkRotatedJwt } from "./jwt-check.js";
import type { OutgoingMessage } from "./outbox.js";
import { decodePayload, encodeOutput } from "./payload-codec.js";
import type {
  DeploymentArtifactConfig__Output,
  TaskExecutionRequest__Output,
  WorkerEvent__Output,
  WorkerSchedulerMessage,
  WorkerSchedulerMessage__Output,
} from "./proto.js";
import { SchedulerRealtime } from "./realtime.js";
import { buildRegistration } from "./registration.js";
import { SchedulerConnection } from "./scheduler-connection.js";
import { encodeMessage } from "./wire.js";

export interface WorkerOptions {
  manifest: Manifest;
  handlers: HandlerTable;
  settings: WorkerSettings;
  machine: MachineInfo;
  log: Logger;
}

const JWT_ROTATION_EVENTS = new Set(["worker.jwt.rotate", "worker_jwt.rotate"]);
/** Progress, logs and metrics may be shed in a long outage; results, deltas and custom events never. */
const DROPPABLE_EVENT = /^(job\.progress|job\.log|metrics\.)/;
/** Room kept in a result message for everything but the output (run id, error text). */
const RESULT_ENVELOPE_BYTES = 64 * 1024;
/** Results kept to answer a repeated run_request with the same result instead of running it twice. */
const RECENT_RESULTS = 1000;

/**
 * The production worker: the scheduler's messages in, the executor's events and results out,
 * through a {@link SchedulerConnection} that survives scheduler restarts without losing either.
 */
export class Worker {
  private readonly executor: Executor;
  private readonly realtimeHost: RealtimeHost;
  private readonly realtime: SchedulerRealtime;
  private readonly connection: SchedulerConnection;
  private readonly recentResults = new Map<string, OutgoingMessage>();
  private token: string;
  private readonly models: ModelHost;
  /** The volume of the model cache, for `model.cached` and `models.disk_inventory`. */
  private volume: DiskVolume | undefined;
  /** What the last `models.disk_inventory` said, so that it is sent again only when it changes. */
  private lastInventory = "";

  constructor(private readonly options: WorkerOptions) {
    const { manifest, handlers, settings, machine, log } = options;
    this.token = settings.jwt;
    this.models = createModelHost({
      settings: settings.models,
      log,
      machine,
      manifest,
      onEvent: (event) => this.sendEvent(event),
      onInventoryChange: () => this.connection.sendRegistration(),
    });
    this.executor = new Executor({
      manifest,
      handlers,
      settings: { ...settings.runtime, maxOutputBytes: outputLimit(settings) },
      encodeOutput,
      onEvent: (event) => this.sendEvent(event),
      models: this.models,
    });
    this.realtimeHost = new RealtimeHost({
      manifest,
      handlers,
      settings: settings.runtime,
      onEvent: (event) => this.sendEvent(event),
      models: this.models,
      onSessionEnd: (end) => this.realtime.logEnd(end),
    });
    this.realtime = new SchedulerRealtime({
      host: this.realtimeHost,
      send: (bytes) => this.connection.send({ bytes, delivery: "kept" }),
      maxSendMessageBytes: settings.maxSendMessageBytes,
      log,
    });
    this.connection = new SchedulerConnection({
      addresses: settings.addresses,
      token: () => this.token,
      reconnect: settings.reconnect,
      heartbeatMs: settings.heartbeatMs,
      outboxLimit: settings.outboxLimit,
      keepalive: settings.keepalive,
      connectTimeoutMs: settings.connectTimeoutMs,
      registration: (isHeartbeat) => this.registration(isHeartbeat),
      onMessage: (message) => this.handle(message),
      log,
    });
  }

  /** Connects and serves until {@link shutdown}; rejects if the connection gives up. */
  async run(): Promise<void> {
    this.volume = await this.models.diskVolume();
    await this.models.refreshDiskInventory();
    return this.connection.start();
  }

  /**
   * SIGTERM: no new runs; runs in flight finish, and their results are delivered (reconnecting as
   * needed), all within WORKER_DRAIN_TIMEOUT_SECONDS: runs still going when a third of it is left
   * (at most 10 s) are canceled, so that their results can still go out. Resolves with the run ids
   * whose results were not delivered, which it also logs.
   */
  async shutdown(): Promise<string[]> {
    const { drainTimeoutMs } = this.options.settings;
    const deadline = Date.now() + drainTimeoutMs;
    const deliveryReserveMs = Math.min(10_000, drainTimeoutMs / 3);
    this.options.log.info(
      { inFlight: this.executor.inFlight, realtimeSessions: this.realtimeHost.active, drainTimeoutMs },
      "draining",
    );
    await Promise.all([
      this.executor.drain(drainTimeoutMs - deliveryReserveMs),
      this.realtimeHost.drain(drainTimeoutMs - deliveryReserveMs),
    ]);
    const undelivered = await this.connection.stop(deadline);
    await this.models.close();
    if (undelivered.length > 0) {
      this.options.log.error(
        { undelivered },
        `stopped with ${undelivered.length} result(s) the scheduler may not have received (WORKER_DRAIN_TIMEOUT_SECONDS passed): ${undelivered.join(", ")}`,
      );
    } else {
      this.options.log.info("stopped; every result was delivered");
    }
    return undelivered;
  }

  private handle(message: WorkerSchedulerMessage__Output): void {
    switch (message.msg) {
      case "run_request":
        if (message.run_request) this.startRun(message.run_request);
        return;
      case "interrupt_run_cmd": {
        const runId = message.interrupt_run_cmd?.run_id ?? "";
        if (!this.executor.cancel(runId, "canceled by the scheduler")) {
          this.options.log.warn({ runId }, "interrupt for a run that is not running");
        }
        return;
      }
      case "load_model_cmd":
        void this.loadModel(canonicalizeModelRef(message.load_model_cmd?.model_id ?? ""));
        return;
      case "unload_model_cmd":
        void this.unloadModel(canonicalizeModelRef(message.unload_model_cmd?.model_id ?? ""));
        return;
      case "worker_event":
        if (message.worker_event) this.handleSchedulerEvent(message.worker_event);
        return;
      case "deployment_artifact_config":
        if (message.deployment_artifact_config) this.deploy(message.deployment_artifact_config);
        return;
      case "realtime_open_cmd":
        if (message.realtime_open_cmd) this.realtime.open(message.realtime_open_cmd);
        return;
      case "realtime_frame":
        if (message.realtime_frame) this.realtime.frame(message.realtime_frame);
        return;
      case "realtime_close_cmd":
        if (message.realtime_close_cmd) this.realtime.close(message.realtime_close_cmd);
        return;
      default:
        this.options.log.debug({ arm: message.msg }, "unhandled scheduler message");
    }
  }

  /**
   * The registration (and heartbeat) with the models' state; `models.disk_inventory` goes with it when
   * the cached set changed since the last one sent.
   */
  private registration(isHeartbeat: boolean): WorkerSchedulerMessage {
    const { manifest, machine, settings } = this.options;
    const models = this.models.inventory();
    const volume = this.volume;
    if (volume && models.diskModels.length > 0) {
      const inventory = [volume.disk_volume_key, ...models.diskModels].join("\n");
      if (inventory !== this.lastInventory) {
        this.lastInventory = inventory;
        this.sendEvent({
          runId: "",
          type: "models.disk_inventory",
          payload: { ...volume, disk_models: models.diskModels },
        });
      }
    }
    return {
      worker_registration: buildRegistration({
        manifest,
        machine,
        settings,
        models,
        gpuBusy:
          machine.gpu !== undefined &&
          (this.executor.inFlight > 0 || this.realtimeHost.active > 0 || this.models.loadsInFlight > 0),
        isHeartbeat,
        supportsModelLoading: true,
        outOfMemory: this.models.takeOutOfMemoryReport(),
      }),
    };
  }

  private async loadModel(modelId: string): Promise<void> {
    let errorMessage = "";
    try {
      if (modelId === "") throw new Error("load_model_cmd without a model_id");
      await this.models.loadModel(modelId);
    } catch (error) {
      const message = (error as Error).message;
      errorMessage =
        error instanceof ResourceError && !message.startsWith("insufficient_vram")
          ? `insufficient_vram: ${message}`
          : message;
      this.options.log.warn({ model: modelId, error: errorMessage }, "load_model_cmd failed");
    }
    this.send(
      { load_model_result: { model_id: modelId, success: errorMessage === "", error_message: errorMessage } },
      undefined,
    );
  }

  private async unloadModel(modelId: string): Promise<void> {
    const result = await this.models.unloadModel(modelId);
    const errorMessage = result.unloaded ? "" : result.reason === "in_use" ? "model_in_use" : result.message;
    this.send(
      { unload_model_result: { model_id: modelId, success: result.unloaded, error_message: errorMessage } },
      undefined,
    );
  }

  /**
   * `deployment_artifact_config`: the release keyspace and allowlist, the presigned URLs of its `cozy:`
   * models, then a prefetch to disk.
   */
  private deploy(config: DeploymentArtifactConfig__Output): void {
    this.models.setRelease({ refByKey: config.repo_ref_by_key, allowed: config.supported_repo_refs });
    this.models.setResolvedCozyModels(config.resolved_cozy_models_by_variant_ref);
    const refs = config.required_variant_refs;
    this.options.log.info(
      {
        supportedRepoRefs: config.supported_repo_refs.length,
        requiredVariantRefs: refs.length,
        resolvedCozyModels: Object.keys(config.resolved_cozy_models_by_variant_ref).length,
      },
      "deployment artifact config received",
    );
    void this.models.prefetch(refs).then(() => this.models.refreshDiskInventory());
  }

  private startRun(request: TaskExecutionRequest__Output): void {
    const runId = request.run_id;
    if (runId === "") {
      this.options.log.warn({ function: request.function_name }, "run_request without a run_id; refused");
      this.send(
        failedResult(
          runId,
          new ValidationError("run_request without a run_id: the scheduler must name every run"),
        ),
        undefined,
      );
      return;
    }
    const cached = this.recentResults.get(runId);
    if (cached) {
      const state = this.connection.resultState(runId);
      if (state === "not-here") {
        this.options.log.warn({ runId }, "run_request for a finished run: sending its result again");
        this.connection.send(cached);
      } else {
        this.options.log.info(
          { runId, state },
          "run_request for a finished run whose result is queued or was sent on this stream; not sent twice",
        );
      }
      return;
    }
    if (this.executor.isRunning(runId)) {
      this.options.log.warn(
        { runId },
        "run_request for a run already in flight: its result will follow once",
      );
      this.sendEvent({ runId, type: "run.duplicate", payload: { state: "running" } });
      return;
    }
    let payload: unknown;
    try {
      payload = decodePayload(request.input_payload);
    } catch (error) {
      this.deliver(runId, failedResult(runId, error));
      return;
    }
    const task: TaskRequest = {
      runId,
      functionName: request.function_name,
      payload,
      payloadBytes: request.input_payload.byteLength,
      timeoutMs: Number(request.timeout_ms) || 0,
      owner: request.owner,
      userId: request.user_id,
      fileBaseUrl: request.file_base_url,
      fileToken: request.file_token,
      requiredModels: request.required_variant_refs.map(canonicalizeModelRef),
    };
    const resolved = request.resolved_cozy_models_by_id;
    if (Object.keys(resolved).length > 0) this.models.setResolvedCozyModels(resolved);
    void this.executor.run(task).then((result) => this.deliver(runId, resultMessage(result)));
  }

  private deliver(runId: string, message: WorkerSchedulerMessage): void {
    const outgoing = this.send(message, runId);
    // A copy: the encoded bytes are a slice of Node's shared 8 KiB pool, and a kept slice pins the whole slab.
    const bytes = Buffer.allocUnsafeSlow(outgoing.bytes.length);
    outgoing.bytes.copy(bytes);
    this.recentResults.set(runId, { ...outgoing, bytes });
    if (this.recentResults.size > RECENT_RESULTS) {
      const oldest = this.recentResults.keys().next().value;
      if (oldest !== undefined) this.recentResults.delete(oldest);
    }
  }

  /**
   * Serializes and queues a result (or a reply to a model command). A result over the scheduler's
   * message limit becomes a failed result for its run, never a message the scheduler would refuse
   * on every stream.
   */
  private send(message: WorkerSchedulerMessage, resultOf: string | undefined): OutgoingMessage {
    let bytes = encodeMessage(message);
    const limit = this.options.settings.maxSendMessageBytes;
    if (bytes.length > limit && message.run_result) {
      const { run_id: runId } = message.run_result;
      this.options.log.warn(
        { runId, bytes: bytes.length, limit },
        "result over the scheduler's message limit",
      );
      bytes = encodeMessage(
        failedResult(
          runId ?? "",
          new ResourceError(
            `the result is ${bytes.length} bytes, over the scheduler's limit of ${limit} (WORKER_MAX_SEND_MESSAGE_BYTES): return large outputs as files (ctx.saveBytes) and their refs`,
          ),
        ),
      );
    }
    const outgoing: OutgoingMessage = {
      bytes,
      delivery: "kept",
      ...(resultOf !== undefined ? { resultOf } : {}),
    };
    this.connection.send(outgoing);
    return outgoing;
  }

  private sendEvent(event: RunEvent): void {
    const name = eventName(event);
    const limit = this.options.settings.maxSendMessageBytes;
    const encode = (payload: unknown) =>
      encodeMessage({
        worker_event: {
          run_id: event.runId,
          event_type: name,
          payload_json: Buffer.from(JSON.stringify(payload)),
        },
      });
    let bytes = encode(event.payload);
    if (bytes.length > limit) {
      this.options.log.warn(
        { runId: event.runId, event: name, bytes: bytes.length, limit },
        "event over the scheduler's message limit: its payload is replaced by {truncated: true}",
      );
      bytes = encode({ truncated: true, bytes: bytes.length });
    }
    this.connection.send({ bytes, delivery: DROPPABLE_EVENT.test(name) ? "droppable" : "kept" });
  }

  private handleSchedulerEvent(event: WorkerEvent__Output): void {
    if (!JWT_ROTATION_EVENTS.has(event.event_type)) return;
    let token: unknown;
    try {
      const payload = JSON.parse(event.payload_json.toString("utf8")) as Record<string, unknown>;
      token = payload.worker_jwt ?? payload.token;
    } catch {
      token = undefined;
    }
    if (typeof token !== "string" || token.trim() === "") {
      this.options.log.warn({ eventType: event.event_type }, "JWT rotation event without a token; ignored");
      return;
    }
    const rotated = token.trim();
    checkRotatedJwt(rotated, this.options.settings.jwks).then(
      () => {
        this.token = rotated;
        this.options.log.info("worker JWT rotated; the next connection uses the new token");
      },
      (error: unknown) => {
        this.options.log.warn(
          { reason: (error as Error).message },
          "JWT rotation refused: the worker keeps its current token",
        );
      },
    );
  }
}

/**
 * The largest single output a run may return: WORKER_MAX_OUTPUT_BYTES, but never more than fits in
 * one message the scheduler accepts, so that an oversized output fails its run as `resource`.
 */
function outputLimit(settings: WorkerSettings): number {
  const wire = Math.max(1, settings.maxSendMessageBytes - RESULT_ENVELOPE_BYTES);
  const configured = settings.runtime.maxOutputBytes;
  return configured > 0 ? Math.min(configured, wire) : wire;
}

function resultMessage(
  result: Pick<RunResult, "runId" | "success" | "encodedOutput" | keyof RunFailure>,
): WorkerSchedulerMessage {
  return {
    run_result: {
      run_id: result.runId,
      success: result.success,
      output_payload: result.encodedOutput ? Buffer.from(result.encodedOutput) : Buffer.alloc(0),
      error_message: result.errorMessage,
      error_type: result.errorType,
      retryable: result.retryable,
      safe_message: result.safeMessage,
    },
  };
}

function failedResult(runId: string, error: unknown): WorkerSchedulerMessage {
  return resultMessage({ runId, success: false, ...describeFailure(error) });
}
