import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { exitsWithin, REPO_ROOT, removeTenantBundles, startRunner } from "../../support/runner-process.js";
import {
  CONTRACT_ENV,
  type ContractOutcome,
  type ContractTransport,
  executorContract,
} from "../executor-contract.js";

const PROJECT = join(REPO_ROOT, "test/projects/runner");

/**
 * The dev runner (`cozy-worker run --local`) as a contract transport: each run is one
 * `POST /v1/run/{function}` read from its JSON body, a cancel is `POST /v1/runs/{id}/cancel`.
 */
async function httpTransport(): Promise<ContractTransport> {
  const workDir = await mkdtemp(join(tmpdir(), "cozy-contract-http-"));
  const runner = await startRunner(PROJECT, {
    ...CONTRACT_ENV,
    WORKER_RUN_DIR: join(workDir, "run"),
    WORKER_MODEL_CACHE_DIR: join(workDir, "models"),
  }).catch(async (error: unknown) => {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  });

  return {
    async run(functionName, payload, options = {}) {
      const envelope = options.runId !== undefined || options.timeoutMs !== undefined;
      const body = envelope
        ? {
            payload,
            ...(options.runId !== undefined ? { run_id: options.runId } : {}),
            ...(options.timeoutMs !== undefined ? { timeout_ms: options.timeoutMs } : {}),
          }
        : payload;
      const response = await fetch(`${runner.url}/v1/run/${encodeURIComponent(functionName)}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const json = (await response.json()) as Record<string, unknown>;
      if (typeof json.success !== "boolean") {
        // The runner refused the request itself (404 unknown function, 400 bad envelope): no run result.
        return {
          runId: options.runId ?? "",
          success: false,
          output: null,
          errorType: "",
          retryable: false,
          safeMessage: "",
          errorMessage: `${String(json.error)}: ${String(json.message)}`,
          events: [],
        };
      }
      const events = json.events as { event_type: string; payload: Record<string, unknown> }[];
      return {
        runId: String(json.run_id),
        success: json.success,
        output: json.output,
        errorType: String(json.error_type),
        // The body carries no `retryable`: the runner says it with a Retry-After header.
        retryable: response.headers.has("retry-after"),
        safeMessage: String(json.safe_message),
        errorMessage: String(json.error_message),
        events: events.map((e) => ({ type: e.event_type, payload: e.payload })),
      } satisfies ContractOutcome;
    },

    async cancel(runId) {
      // 404 until the run is in flight.
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(20)) {
        const response = await fetch(`${runner.url}/v1/runs/${encodeURIComponent(runId)}/cancel`, {
          method: "POST",
        });
        await response.arrayBuffer();
        if (response.status === 200) return;
      }
      throw new Error(`run ${runId} was never in flight on the runner`);
    },

    // The JSON body holds every event of the run: nothing can come after it.
    async eventsAfterResult() {
      return [];
    },

    async close() {
      if (!(await exitsWithin(runner.stop("SIGTERM"), 10_000))) await runner.stop("SIGKILL");
      await removeTenantBundles(PROJECT, runner.child.pid);
      await rm(runner.outputsDir, { recursive: true, force: true });
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

executorContract("the dev HTTP runner", httpTransport);
