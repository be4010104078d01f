import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ReceivedMessage } from "../../../src/dev/scheduler-server.js";
import { exitsWithin, REPO_ROOT, removeTenantBundles } from "../../support/runner-process.js";
import { decodeOutput, resultOf, sendRun, startWorkerWithScheduler } from "../../support/worker-process.js";
import {
  CONTRACT_ENV,
  type ContractEvent,
  type ContractTransport,
  executorContract,
} from "../executor-contract.js";

const PROJECT = join(REPO_ROOT, "test/projects/runner");

/**
 * The production worker (`cozy-worker serve`) against the fake scheduler as a contract transport:
 * a run is a `run_request` with a msgpack payload; its outcome is the msgpack-decoded `run_result`
 * with the `worker_event`s of its run id; a cancel is an `interrupt_run_cmd`.
 */
async function grpcTransport(): Promise<ContractTransport> {
  const workDir = await mkdtemp(join(tmpdir(), "cozy-contract-grpc-"));
  const { scheduler, worker } = await startWorkerWithScheduler(PROJECT, {
    ...CONTRACT_ENV,
    WORKER_RUN_DIR: join(workDir, "run"),
    WORKER_MODEL_CACHE_DIR: join(workDir, "models"),
  }).catch(async (error: unknown) => {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  });
  let counter = 0;

  const isEventOf = (runId: string) => (r: ReceivedMessage) =>
    r.message.msg === "worker_event" && r.message.worker_event?.run_id === runId;
  const isResultOf = (runId: string) => (r: ReceivedMessage) =>
    r.message.msg === "run_result" && r.message.run_result?.run_id === runId;
  const toEvent = (r: ReceivedMessage): ContractEvent => ({
    type: r.message.worker_event?.event_type ?? "",
    payload: JSON.parse(r.message.worker_event?.payload_json.toString("utf8") || "{}"),
  });
  /** The run's worker_events received before (or after) its run_result. */
  const eventsAround = (runId: string) => {
    const before: ReceivedMessage[] = [];
    const after: ReceivedMessage[] = [];
    let seenResult = false;
    for (const received of scheduler.received) {
      if (isResultOf(runId)(received)) seenResult = true;
      else if (isEventOf(runId)(received)) (seenResult ? after : before).push(received);
    }
    return { before, after };
  };

  return {
    async run(functionName, payload, options = {}) {
      const runId = options.runId ?? `contract-grpc-${process.pid}-${++counter}`;
      sendRun(scheduler, runId, functionName, payload, { timeout_ms: options.timeoutMs ?? 0 });
      const result = await resultOf(scheduler, runId, 20_000);
      return {
        runId,
        success: result.success,
        output: decodeOutput(result.output_payload),
        errorType: result.error_type,
        retryable: result.retryable,
        safeMessage: result.safe_message,
        errorMessage: result.error_message,
        events: eventsAround(runId).before.map(toEvent),
      };
    },

    async cancel(runId) {
      // In flight once its first event arrived.
      await scheduler.waitFor(isEventOf(runId), 10_000);
      scheduler.send({ interrupt_run_cmd: { run_id: runId } });
    },

    async eventsAfterResult(runId) {
      await sleep(200);
      return eventsAround(runId).after.map((r) => toEvent(r).type);
    },

    async close() {
      // SIGTERM drains; a worker stuck draining (a broken cancel) is killed so that nothing outlives the test.
      if (!(await exitsWithin(worker.stop("SIGTERM"), 10_000))) await worker.stop("SIGKILL");
      await scheduler.stop();
      await removeTenantBundles(PROJECT, worker.child.pid);
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

executorContract("the gRPC worker", grpcTransport);
