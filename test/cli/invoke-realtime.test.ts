/**
 * `cozy-worker invoke --realtime` against the dev runner (`cozy-worker run --local`), both the built
 * CLI: stdin lines (or bytes, with --binary) become frames, the worker's frames are printed, and the
 * exit code says how the session ended.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnvironment } from "../support/cli.js";
import { startExampleHub } from "../support/example-hub.js";
import {
  CLI,
  REPO_ROOT,
  type RunnerProcess,
  removeTenantBundles,
  startRunner,
} from "../support/runner-process.js";

/** Stops a runner and removes what it left: its outputs folder and its handler bundle. */
async function stopRunner(runner: RunnerProcess | undefined, project: string): Promise<void> {
  if (!runner) return;
  await runner.stop();
  await rm(runner.outputsDir, { recursive: true, force: true });
  await removeTenantBundles(project, runner.child.pid);
}

const PROJECT = join(REPO_ROOT, "test/projects/realtime");

/** The built CLI with `input` on its stdin; never rejects. */
async function invoke(args: string[], input: string | Buffer = "") {
  const result = await execa(process.execPath, [CLI, "invoke", ...args], {
    env: cliEnvironment(),
    extendEnv: false,
    input,
    timeout: 60_000,
    stripFinalNewline: false,
    reject: false,
  });
  return { code: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe("invoke --realtime on the dev runner", () => {
  let runner: RunnerProcess;

  beforeAll(async () => {
    runner = await startRunner(PROJECT);
  }, 40_000);

  afterAll(async () => {
    await stopRunner(runner, PROJECT);
  });

  it("sends each stdin line as a text frame and prints the frames; exit 0 when the handler completes", async () => {
    const { code, stdout, stderr } = await invoke(
      ["greet", "--realtime", "--url", runner.url, "--run-id", "cli-greet"],
      "hi\nunread\n",
    );
    expect(stdout).toBe('hello cli-greet\n{"bytes":2,"text":"hi"}\n');
    expect(stderr).toContain("session cli-greet open on greet");
    expect(stderr).toContain("session cli-greet closed by the worker: completed");
    expect(code).toBe(0);
  });

  it("closes the session itself --linger-s after stdin ends, exit 0", async () => {
    const { code, stdout, stderr } = await invoke(
      ["shout", "--realtime", "--url", runner.url, "--linger-s", "0.3"],
      "one\ntwo\n",
    );
    expect(stdout).toBe("ONE\nTWO\n");
    expect(stderr).toMatch(/session \S+ closed by the client: closed/);
    expect(code).toBe(0);
  });

  it("exits 0 when the handler closes the session itself", async () => {
    const { code, stdout, stderr } = await invoke(["shout", "--realtime", "--url", runner.url], "one\nbye\n");
    expect(stdout).toBe("ONE\n");
    expect(stderr).toMatch(/session \S+ closed by the worker: closed/);
    expect(code).toBe(0);
  });

  it("exits 1 with frame_too_large for a line over WORKER_MAX_WS_FRAME_BYTES (1 MiB)", async () => {
    const { code, stderr } = await invoke(
      ["shout", "--realtime", "--url", runner.url],
      `${"x".repeat(1024 * 1024 + 1)}\n`,
    );
    expect(stderr).toMatch(
      /closed by the worker: frame_too_large \(a frame was over WORKER_MAX_WS_FRAME_BYTES; send smaller frames\)/,
    );
    expect(code).toBe(1);
  });

  it("closing the session after --linger-s aborts the handler, which sees its iteration end", async () => {
    const { code } = await invoke(
      ["watch", "--realtime", "--url", runner.url, "--run-id", "cli-watch", "--linger-s", "0.2"],
      "1\n2\n",
    );
    expect(code).toBe(0);
    const saved = join(runner.outputsDir, "runs", "cli-watch", "outputs", "ended.json");
    let text = "";
    for (let waited = 0; waited < 5000 && text === ""; waited += 50) {
      text = await readFile(saved, "utf8").catch(() => "");
      if (text === "") await new Promise((done) => setTimeout(done, 50));
    }
    expect(JSON.parse(text)).toEqual({ frames: 2, aborted: true });
  });

  it("prints binary frames as their size and base64", async () => {
    const { code, stdout } = await invoke(
      ["sized", "--realtime", "--url", runner.url, "--linger-s", "0.3"],
      "3\n",
    );
    expect(stdout).toBe("<3 bytes> AAAA\n");
    expect(code).toBe(0);
  });

  it("exits 1 with the reason and what to do when the handler fails or the endpoint has no realtime handler", async () => {
    const failed = await invoke(["explode", "--realtime", "--url", runner.url], "x\n");
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /error: session \S+ closed by the worker: error:StreamBroke \(the handler failed; the runner's log has its message\)/,
    );
    const unknown = await invoke(["nope", "--realtime", "--url", runner.url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /closed by the worker: unknown_function \(no realtime handler has that name/,
    );
  });

  it("sends stdin's bytes in binary frames of --frame-bytes with --binary", async () => {
    const { code, stdout } = await invoke(
      ["echoBytes", "--realtime", "--binary", "--frame-bytes", "4", "--url", runner.url, "--linger-s", "0.3"],
      "abcdefghij",
    );
    expect(stdout.split("\n").filter(Boolean)).toEqual([
      `<4 bytes> ${Buffer.from("abcd").toString("base64")}`,
      `<4 bytes> ${Buffer.from("efgh").toString("base64")}`,
      `<2 bytes> ${Buffer.from("ij").toString("base64")}`,
    ]);
    expect(code).toBe(0);
  });

  it("refuses a payload or frame flags that do not fit, exit 2", async () => {
    const payload = await invoke(["greet", "--realtime", "--url", runner.url, "name=x"]);
    expect([payload.code, payload.stderr]).toEqual([
      2,
      "error: a realtime session takes no payload (key=value fields, --payload-json, -f): send its input on stdin\n",
    ]);
    const binary = await invoke(["greet", "--binary", "--url", runner.url]);
    expect([binary.code, binary.stderr]).toEqual([2, "error: --binary only works with --realtime\n"]);
    const frameBytes = await invoke(["greet", "--realtime", "--frame-bytes", "8", "--url", runner.url]);
    expect(frameBytes.code).toBe(2);
    expect(frameBytes.stderr).toContain("--frame-bytes only works with --binary");
  });

  it("exits 2 naming the command that starts a runner when none listens", async () => {
    const { code, stderr } = await invoke(["greet", "--realtime", "--url", "http://127.0.0.1:9"], "hi\n");
    expect(code).toBe(2);
    expect(stderr).toContain("cannot reach the dev runner at http://127.0.0.1:9");
    expect(stderr).toContain("cozy-worker run --local <project-dir>");
  });
});

describe("examples/vad-stream on the dev runner, with Silero VAD from the loopback hub", () => {
  let hub: Awaited<ReturnType<typeof startExampleHub>>;
  let runner: RunnerProcess;
  let cacheDir: string;

  beforeAll(async () => {
    hub = await startExampleHub();
    cacheDir = await mkdtemp(join(tmpdir(), "vad-stream-runner-cache-"));
    runner = await startRunner(join(REPO_ROOT, "examples/vad-stream"), {
      HF_ENDPOINT: hub.endpoint,
      WORKER_MODEL_CACHE_DIR: cacheDir,
      WORKER_ORT_PROVIDERS: "cpu",
    });
  }, 60_000);

  afterAll(async () => {
    await stopRunner(runner, join(REPO_ROOT, "examples/vad-stream"));
    hub?.stop();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it("finds the two sentences of samples/hello.wav as it streams, the same as examples/vad", async () => {
    const wav = await readFile(join(REPO_ROOT, "examples/vad-stream/samples/hello.wav"));
    const { code, stdout, stderr } = await invoke(
      ["streamSpeech", "--realtime", "--binary", "--url", runner.url, "--linger-s", "30"],
      wav,
    );
    const messages = stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(messages).toEqual([
      { type: "segment", start_s: 0.064, end_s: 0.832 },
      { type: "segment", start_s: 1.984, end_s: 5.792 },
      {
        type: "done",
        duration_s: 6.155,
        segments: [
          { start_s: 0.064, end_s: 0.832 },
          { start_s: 1.984, end_s: 5.792 },
        ],
        speech_ratio: 0.743,
      },
    ]);
    expect(stderr).toMatch(/closed by the worker: completed/);
    expect(code).toBe(0);
  }, 60_000);
});
