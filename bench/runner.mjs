// Dev runner throughput: a trivial endpoint over keep-alive HTTP with 16 concurrent clients, next
// to a bare node:http server returning the same JSON and to the same server calling the executor
// first, all measured in this run; then an endpoint that awaits 100 ms (ideal: 16 clients / 0.1 s
// = 160 requests per second).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const root = fileURLToPath(new URL("..", import.meta.url));
const project = join(root, "bench/projects/trivial");
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = 16;

/** Starts a server; resolves once it prints its URL and, when given, a line matching `readyLine`. */
export function startProcess(args, env = {}, readyLine = undefined) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk.toString();
      const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (!match || (readyLine && !readyLine.test(output))) return;
      // Stop reading what it prints: the access log must not cost the load generator anything.
      child.stdout.off("data", onData).resume();
      child.stderr.off("data", onData).resume();
      resolve({ url: match[1], pid: child.pid, stop: () => child.kill("SIGKILL") });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function measured(server, path, body) {
  const before = cpuSeconds(server.pid);
  const result = await load(server.url, path, body);
  const cpuUsPerRequest = ((cpuSeconds(server.pid) - before) * 1e6) / result.requests.total;
  return { result, cpuUsPerRequest };
}

function load(url, path, body) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}${path}`,
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
        connections: CONNECTIONS,
        duration: DURATION_S,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

function row(name, { result, cpuUsPerRequest }) {
  return {
    name,
    cpuUsPerRequest,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

export async function benchRunner() {
  const runner = await startProcess(
    [
      join(root, "bin/cozy-worker.js"),
      "run",
      "--local",
      project,
      "--listen",
      "127.0.0.1:0",
      "--outputs",
      join(root, "bench/.work/outputs"),
    ],
    {},
    // The handlers' type check runs on a worker thread for a second or two after serving starts.
    /the handlers type-check/,
  );
  try {
    const sample = await fetch(`${runner.url}/v1/run/ping`, {
      method: "POST",
      body: '{"n":1}',
      headers: { "content-type": "application/json" },
    }).then((r) => r.text());
    const fixedJson = join(root, "bench/servers/fixed-json.mjs");
    const bare = await startProcess([fixedJson], { BODY: sample });
    const withExecutor = await startProcess([fixedJson, "--executor"], { BODY: sample });
    try {
      const bareResult = row("bare node:http, same JSON", await measured(bare, "/", '{"n":1}'));
      const executorResult = row(
        "bare node:http calling the executor, same JSON",
        await measured(withExecutor, "/", '{"n":1}'),
      );
      const runnerResult = row(
        "dev runner, trivial endpoint",
        await measured(runner, "/v1/run/ping", '{"n":1}'),
      );
      const waitResult = row(
        "dev runner, endpoint awaiting 100 ms",
        await measured(runner, "/v1/run/wait100", '{"n":1}'),
      );
      return {
        bare: bareResult,
        executor: executorResult,
        runner: runnerResult,
        wait: waitResult,
        ratio: runnerResult.rps / bareResult.rps,
      };
    } finally {
      bare.stop();
      withExecutor.stop();
    }
  } finally {
    runner.stop();
  }
}

export function printRunner(runner) {
  console.log("\n## Dev runner (16 keep-alive clients, autocannon)");
  console.log(
    "| server | req/s | p50 ms | p99 ms | server CPU µs/request | errors |\n|---|---|---|---|---|---|",
  );
  for (const r of [runner.bare, runner.executor, runner.runner, runner.wait]) {
    console.log(
      `| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.cpuUsPerRequest.toFixed(1)} | ${r.errors} |`,
    );
  }
  console.log(
    `runner / bare throughput: ${runner.ratio.toFixed(2)} (target ≥ 0.6); 100 ms endpoint: ${runner.wait.rps.toFixed(0)} req/s (target ≥ 144)`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) printRunner(await benchRunner());
