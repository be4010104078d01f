import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { startInvoke } from "../support/invoke-process.js";
import { CLI, REPO_ROOT } from "../support/runner-process.js";
import { startWorker, type WorkerProcess } from "../support/worker-process.js";

const PROJECT = join(REPO_ROOT, "test/projects/runner");

/** `cozy-worker invoke ... --scheduler --listen 127.0.0.1:0`, the process a developer runs. */
function invoke(args: string[]) {
  return startInvoke([...args, "--scheduler", "--listen", "127.0.0.1:0", "--wait-s", "20"]);
}

const workers: WorkerProcess[] = [];

afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop("SIGKILL");
});

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const invocation = invoke(args);
  workers.push(startWorker(PROJECT, { SCHEDULER_ADDR: await invocation.listening }));
  const code = await invocation.exited;
  return { code, stdout: invocation.stdout(), stderr: invocation.stderr() };
}

describe("cozy-worker invoke --scheduler with cozy-worker serve", () => {
  it("a single-output run prints the output and exits 0", async () => {
    const { code, stdout } = await run(["echo", "text=hello", "times:=2"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\[connected\] functions=\[.*'echo'/);
    expect(stdout).toMatch(/\[sent\] run_id=\S+ function='echo'/);
    expect(stdout).toContain('"text": "hello hello"');
  }, 40_000);

  it("a streaming run prints its deltas and an empty output", async () => {
    const { code, stdout } = await run(["words", "text=one two"]);
    expect(code).toBe(0);
    expect(stdout).toContain('[event] output.delta: {"delta":"one"}');
    expect(stdout).toContain('[event] output.delta: {"delta":"two"}');
    expect(stdout).toContain("[output] <empty>");
  }, 40_000);

  it("a failing run prints the error and exits 1", async () => {
    const { code, stderr } = await run(["fail_with", "kind=validation"]);
    expect(code).toBe(1);
    expect(stderr).toContain(
      "[error] type='validation' retryable=False safe='prompt is too long for model hf:acme/det'",
    );
    expect(stderr).toContain("[error] message=ValidationError: prompt is too long for model hf:acme/det");
  }, 40_000);

  it("--project types key=value fields by the project's manifest and names unknown ones", async () => {
    const { code, stdout, stderr } = await run([
      "echo",
      "text=hi",
      "times=2",
      "tims=3",
      "--project",
      PROJECT,
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain('"text": "hi hi"');
    expect(stderr).toContain('warning: echo has no field "tims" (did you mean "times"?); sending it anyway');
  }, 40_000);

  it("without a project folder, says once that key=value fields go as strings", async () => {
    const { code, stderr } = await run(["echo", "text=hi", "times=2"]);
    expect(code).toBe(1);
    const note =
      'warning: key=value fields are sent as strings: there is no project folder to read echo\'s fields from (run invoke in it, or give --project <dir>); write key:=<json> for numbers, booleans, null and files ({"ref": "<file or URL>"})';
    expect(stderr.split(note).length - 1).toBe(1);
    expect(stderr).toContain("safe='invalid input: $.times must be integer'");
  }, 40_000);

  it("a timed-out run ends canceled, exit 1", async () => {
    const { code, stderr } = await run(["wait_for_cancel", "ms:=60000", "--timeout-ms", "300"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/\[error\] type='canceled' retryable=False safe='canceled'/);
    expect(stderr).toMatch(/\[error\] message=CanceledError: run timed out after 300 ms/);
  }, 40_000);

  it("Ctrl-C interrupts the run on the worker and prints its canceled result", async () => {
    const invocation = invoke(["endless", "--print-events"]);
    workers.push(startWorker(PROJECT, { SCHEDULER_ADDR: await invocation.listening }));
    while (!invocation.stdout().includes("output.delta")) await new Promise((done) => setTimeout(done, 50));
    invocation.child.kill("SIGINT");
    expect(await invocation.exited).toBe(1);
    expect(invocation.stderr()).toContain("[cancel] sent interrupt_run_cmd");
    expect(invocation.stderr()).toContain("[error] type='canceled'");
  }, 40_000);

  it("exits 2 when no worker connects in time", async () => {
    const child = spawn(
      process.execPath,
      [CLI, "invoke", "echo", "--scheduler", "--listen", "127.0.0.1:0", "--wait-s", "0.5"],
      {
        stdio: "ignore",
      },
    );
    expect(await new Promise((done) => child.once("exit", done))).toBe(2);
  }, 20_000);

  it("--serve-files-dir on a port in use says which flag picks another, exit 2", async () => {
    const busy = createServer();
    await new Promise<void>((done) => busy.listen(0, "127.0.0.1", done));
    const port = (busy.address() as { port: number }).port;
    const dir = await mkdtemp(join(tmpdir(), "invoke-files-"));
    try {
      const invocation = invoke([
        "echo",
        "--serve-files-dir",
        dir,
        "--serve-files-listen",
        `127.0.0.1:${port}`,
      ]);
      expect(await invocation.exited).toBe(2);
      expect(invocation.stderr()).toContain(
        `cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}: another process is listening there; pick another address with --serve-files-listen host:port`,
      );
    } finally {
      busy.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 20_000);

  it("serves files away from the dev runner's port 8081 by default", async () => {
    const help = await execa(process.execPath, [CLI, "invoke", "--help"]);
    expect(help.stdout.replace(/\s+/g, " ")).toContain("where the file API listens (default: 0.0.0.0:8091)");
  });
});
