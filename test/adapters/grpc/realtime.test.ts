/**
 * Realtime sessions through the production worker: `cozy-worker serve` connected to the one-shot
 * scheduler of `cozy-worker invoke --realtime --scheduler`, both the processes a developer runs. The
 * session ends with each of the Python SDK's reasons (completed, closed, error:<ErrorClass>,
 * unknown_function, frame_too_large); the scheduler closing it cancels the handler; and Silero VAD
 * (examples/vad-stream) runs on a real ONNX model from the loopback hub.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startExampleHub } from "../../support/example-hub.js";
import { startInvoke } from "../../support/invoke-process.js";
import { REPO_ROOT, removeTenantBundles } from "../../support/runner-process.js";
import { startWorker, type WorkerProcess } from "../../support/worker-process.js";

const PROJECT = join(REPO_ROOT, "test/projects/realtime");

interface Transcript {
  code: number | null;
  stdout: string;
  stderr: string;
  worker: WorkerProcess;
}

/** Writes stdin step by step, looking at what invoke printed so far. */
type Feed = (stdin: NodeJS.WritableStream, stdout: () => string) => Promise<void>;

async function until(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 20) {
    if (waited > 30_000) throw new Error("invoke did not print what was expected within 30 s");
    await new Promise((done) => setTimeout(done, 20));
  }
}

const workers: { worker: WorkerProcess; project: string }[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const { worker, project } of workers.splice(0)) {
    await worker.stop("SIGKILL");
    await removeTenantBundles(project, worker.child.pid);
  }
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/**
 * `cozy-worker invoke <args> --realtime --scheduler` with `stdin` as its input, and a worker serving
 * `project` once the scheduler listens; resolves when invoke exits.
 */
async function session(
  args: string[],
  stdin: string | Buffer | Feed,
  options: { project?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Transcript> {
  const invocation = startInvoke(
    [...args, "--realtime", "--scheduler", "--listen", "127.0.0.1:0", "--wait-s", "30"],
    "pipe",
  );
  const { child, stdout } = invocation;
  children.push(child);
  const input = child.stdin as NodeJS.WritableStream;
  if (typeof stdin === "function") void stdin(input, stdout);
  else input.end(stdin);
  const project = options.project ?? PROJECT;
  const worker = startWorker(project, { SCHEDULER_ADDR: await invocation.listening, ...options.env });
  workers.push({ worker, project });
  const code = await invocation.exited;
  return { code, stdout: stdout(), stderr: invocation.stderr(), worker };
}

describe("cozy-worker invoke --realtime --scheduler with cozy-worker serve", () => {
  it("echoes frames both ways and closes with completed when the handler returns", async () => {
    const { code, stdout } = await session(["greet", "--run-id", "sess-greet"], "hi there\nnot read\n");
    expect(stdout).toMatch(/\[connected\] functions=\['add', 'echoBytes', 'shout', 'greet', /);
    expect(stdout).toContain("[sent] realtime_open_cmd session_id=sess-greet function='greet'");
    const frames = stdout.split("\n").filter((line) => line.startsWith("[frame]"));
    expect(frames).toEqual(["[frame] hello sess-greet", '[frame] {"bytes":8,"text":"hi there"}']);
    expect(stdout).toContain("[closed] by=worker reason='completed'");
    expect(code).toBe(0);
  }, 60_000);

  it("closes with closed when the handler closes the socket; nothing is sent after it", async () => {
    const { code, stdout } = await session(["shout"], "one\ntwo\nbye\nthree\n");
    expect(stdout.split("\n").filter((line) => line.startsWith("[frame]"))).toEqual([
      "[frame] ONE",
      "[frame] TWO",
    ]);
    expect(stdout).toContain("[closed] by=worker reason='closed'");
    expect(code).toBe(0);
  }, 60_000);

  it("closes with error:<ErrorClass> when the handler throws, and exits 1", async () => {
    const { code, stdout, stderr, worker } = await session(["explode"], "boom\n");
    expect(stdout).toContain("[closed] by=worker reason='error:StreamBroke'");
    expect(stderr).toContain("[error] the session ended with 'error:StreamBroke'");
    await until(() => worker.stderr().includes("realtime session ended"));
    expect(worker.stderr()).toMatch(
      /"reason":"error:StreamBroke".*"error":"StreamBroke: cannot handle 4 bytes"/,
    );
    expect(code).toBe(1);
  }, 60_000);

  it("closes an unknown function with unknown_function", async () => {
    const { code, stdout } = await session(["nope"], "");
    expect(stdout).toContain("[closed] by=worker reason='unknown_function'");
    expect(code).toBe(1);
  }, 60_000);

  it("enforces WORKER_MAX_WS_FRAME_BYTES: a larger inbound frame closes with frame_too_large, a larger outbound one is refused", async () => {
    // The oversized frame goes out once the others are answered: a frame_too_large close drops frames
    // the handler has not read yet.
    const feed: Feed = async (stdin, stdout) => {
      stdin.write("10\n100\n");
      await until(() => stdout().includes("refused"));
      stdin.end(`${"9".repeat(65)}\n`);
    };
    const { code, stdout } = await session(["sized"], feed, { env: { WORKER_MAX_WS_FRAME_BYTES: "64" } });
    const frames = stdout.split("\n").filter((line) => line.startsWith("[frame]"));
    expect(frames).toEqual([
      `[frame] <10 bytes> ${Buffer.alloc(10).toString("base64")}`,
      '[frame] {"refused":"RangeError"}',
    ]);
    expect(stdout).toContain("[closed] by=worker reason='frame_too_large'");
    expect(code).toBe(1);
  }, 60_000);

  it("cancels the handler when the scheduler closes the session: its signal aborts and the iteration ends", async () => {
    const { code, stdout } = await session(["watch", "--print-events", "--linger-s", "0.5"], "1\n2\n3\n");
    expect(stdout).toMatch(/\[closed\] by=scheduler reason='closed' \(the input ended 500 ms ago\)/);
    expect(stdout).toMatch(
      /\[event\] session\.aborted: \{.*"reason":"the client closed the realtime session"/,
    );
    expect(stdout).toMatch(/\[event\] session\.iteration_ended: \{.*"frames":3,"aborted":true/);
    expect(stdout).not.toContain("[closed] by=worker");
    expect(code).toBe(0);
  }, 60_000);
});

describe("examples/vad-stream through the scheduler, on Silero VAD from the loopback hub", () => {
  let hub: Awaited<ReturnType<typeof startExampleHub>>;
  let cacheDir: string;

  beforeAll(async () => {
    hub = await startExampleHub();
    cacheDir = await mkdtemp(join(tmpdir(), "vad-stream-cache-"));
  });

  afterAll(async () => {
    hub?.stop();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it("streams samples/hello.wav in frames and gets the two sentences back, then completed", async () => {
    const wav = await readFile(join(REPO_ROOT, "examples/vad-stream/samples/hello.wav"));
    const { code, stdout } = await session(
      ["streamSpeech", "--binary", "--frame-bytes", "3000", "--required-model", "vad", "--linger-s", "30"],
      wav,
      {
        project: join(REPO_ROOT, "examples/vad-stream"),
        env: { HF_ENDPOINT: hub.endpoint, WORKER_MODEL_CACHE_DIR: cacheDir, WORKER_ORT_PROVIDERS: "cpu" },
      },
    );
    const messages = stdout
      .split("\n")
      .filter((line) => line.startsWith("[frame] "))
      .map((line) => JSON.parse(line.slice("[frame] ".length)) as Record<string, unknown>);
    const segments = messages.filter((message) => message.type === "segment");
    expect(segments).toHaveLength(2);
    const done = messages.at(-1) as { type: string; duration_s: number; segments: unknown[] };
    expect(done.type).toBe("done");
    expect(done.duration_s).toBeCloseTo(6.15, 1);
    expect(done.segments).toEqual(segments.map(({ start_s, end_s }) => ({ start_s, end_s })));
    const [first, second] = done.segments as { start_s: number; end_s: number }[];
    expect(first?.start_s).toBeLessThan(0.3);
    expect(second?.end_s).toBeGreaterThan(5);
    expect(stdout).toContain("[closed] by=worker reason='completed'");
    expect(code).toBe(0);
  }, 90_000);
});
