// The production worker over gRPC: `cozy-worker serve` on bench/projects/trivial (`ping` returns
// its input; manifest baked first, as in an image), driven over loopback by a load scheduler in its
// own process (bench/servers/grpc-load.mjs), next to a bare grpc-js peer that answers each
// run_request with one run_result of the worker's result size (bench/servers/grpc-echo.mjs), driven
// by the same scheduler code in the same run. Each peer first runs unmeasured (JIT warm-up); then,
// per round, the two take turns: latency at concurrency 1 (run_request written → run_result read,
// at the scheduler), then tasks per second at concurrency 1 and 64 over BENCH_GRPC_SECONDS
// (default 3) after a 1 s warm-up; medians of BENCH_GRPC_ROUNDS rounds (default 3). Also each
// peer's peak RSS (VmHWM) over the whole run, and the CPU the peer, the scheduler and the rest of
// the machine used (a busy machine changes the figures; the last column says how busy it was).
import { execFileSync, fork, spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const ROUNDS = Number(process.env.BENCH_GRPC_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_GRPC_SECONDS ?? 3);
const LATENCY_TASKS = Number(process.env.BENCH_GRPC_LATENCY_TASKS ?? 10000);
const LATENCY_WARMUP = 500;
const WARMUP_S = 1;
const CONCURRENCY = 64;

/** The child processes still running: killed when this process exits, however it exits. */
const children = new Set();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

function tracked(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Resolves with `message[key]` of the child's next IPC message that has `key`. */
function nextMessage(child, key) {
  return new Promise((resolve, reject) => {
    const onMessage = (message) => {
      if (!(key in message)) return;
      child.off("message", onMessage).off("exit", onExit);
      resolve(message[key]);
    };
    const onExit = (code) => reject(new Error(`the load scheduler exited (${code}) waiting for ${key}`));
    child.on("message", onMessage).once("exit", onExit);
  });
}

/** Forks bench/servers/grpc-load.mjs and waits until it listens. */
async function startLoadScheduler() {
  const child = tracked(
    fork(join(root, "bench/servers/grpc-load.mjs"), { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  const port = await nextMessage(child, "port");
  return {
    address: `127.0.0.1:${port}`,
    ready: () => nextMessage(child, "ready"),
    command: async (cmd, args = {}) => {
      const reply = nextMessage(child, "reply");
      child.send({ cmd, ...args });
      const result = await reply;
      if (result.error) throw new Error(`load scheduler, ${cmd}: ${result.error}`);
      return result;
    },
    onProgress: (listener) =>
      child.on("message", (message) => message.progress && listener(message.progress)),
    stop: () => child.kill("SIGKILL"),
  };
}

/** Starts a Node process that dials `scheduler` and waits until it has registered there. */
async function startPeer(scheduler, name, args, env) {
  const child = tracked(
    spawn(process.execPath, args, {
      env: { ...process.env, ...env, SCHEDULER_ADDR: scheduler.address, NO_COLOR: "1" },
      stdio: ["ignore", "ignore", "pipe"],
    }),
  );
  let log = "";
  child.stderr.on("data", (chunk) => {
    log = (log + chunk).slice(-4000);
  });
  const exited = new Promise((_, reject) =>
    child.once("exit", (code) => reject(new Error(`${name} exited (${code}):\n${log}`))),
  );
  exited.catch(() => {});
  await Promise.race([scheduler.ready(), exited]);
  return {
    name,
    pid: child.pid,
    scheduler,
    /** A command to its scheduler that fails if the peer exits meanwhile. */
    command: (cmd, args) => Promise.race([scheduler.command(cmd, args), exited]),
    stop: () => child.kill("SIGKILL"),
  };
}

/**
 * `cozy-worker serve` on bench/projects/trivial with its manifest baked first, as in an image, so that
 * discovery (ts-morph) is not part of the worker's memory.
 */
function startWorker(scheduler) {
  const cli = join(root, "bin/cozy-worker.js");
  const project = join(root, "bench/projects/trivial");
  const manifest = join(root, "bench/.work/grpc-manifest.json");
  mkdirSync(dirname(manifest), { recursive: true });
  execFileSync(process.execPath, [cli, "discover", project, "--out", manifest], { stdio: "inherit" });
  return startPeer(scheduler, "cozy-worker serve", [cli, "serve", project, "--manifest", manifest], {
    WORKER_JWT: "bench",
    LOG_LEVEL: "warn",
    WORKER_MODEL_CACHE_DIR: join(root, "bench/.work/grpc-model-cache"),
  });
}

function startEcho(scheduler, outputB64) {
  return startPeer(scheduler, "grpc-js echo", [join(root, "bench/servers/grpc-echo.mjs")], {
    OUTPUT_B64: outputB64,
  });
}

/** A memory figure of /proc/<pid>/status (VmRSS, VmHWM), in bytes. */
export function procMemory(pid, field) {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1]) * 1024;
}

/** Both paths hot (JIT) in both processes before anything counts. */
async function warmUp(peer) {
  await peer.command("rate", {
    concurrency: CONCURRENCY,
    seconds: 1,
    warmupSeconds: WARMUP_S,
    peerPid: peer.pid,
  });
  await peer.command("latency", { tasks: 0, warmup: 5000, peerPid: peer.pid });
}

async function measureRound(peer) {
  const rate = (concurrency) =>
    peer.command("rate", {
      concurrency,
      seconds: SECONDS,
      warmupSeconds: WARMUP_S,
      peerPid: peer.pid,
    });
  const latency = await peer.command("latency", {
    tasks: LATENCY_TASKS,
    warmup: LATENCY_WARMUP,
    peerPid: peer.pid,
  });
  return { latency, c1: await rate(1), c64: await rate(CONCURRENCY) };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const problems = (rate) => rate.failed + rate.unexpected + rate.unanswered;

function summarize(peer, rounds) {
  const mid = (pick) => median(rounds.map(pick));
  return {
    name: peer.name,
    p50: mid((r) => r.latency.p50),
    p99: mid((r) => r.latency.p99),
    otherCpuShareC1: mid((r) => r.latency.otherCpuShare),
    c1: mid((r) => r.c1.tasksPerSecond),
    c64: mid((r) => r.c64.tasksPerSecond),
    peerCpuUsPerTask: mid((r) => r.c64.peerCpuUsPerTask),
    peerCpuShare: mid((r) => r.c64.peerCpuShare),
    schedulerCpuShare: mid((r) => r.c64.ownCpuShare),
    otherCpuShare: mid((r) => r.c64.otherCpuShare),
    messagesPerTask: 1 + mid((r) => r.c64.eventsPerTask),
    streams: Math.max(...rounds.map((r) => r.c64.streams)),
    errors: rounds.reduce((sum, r) => sum + problems(r.c1) + problems(r.c64), 0),
    tasks: rounds.at(-1).c64.sentSoFar,
    peakRss: procMemory(peer.pid, "VmHWM"),
  };
}

/**
 * A load scheduler with the worker, then another with the echo answering with the worker's result
 * bytes; each process goes on `started`, for the caller to stop.
 */
export async function startPeers(started) {
  const workerScheduler = await startLoadScheduler();
  started.push(workerScheduler);
  const worker = await startWorker(workerScheduler);
  started.push(worker);
  const { outputB64 } = await worker.command("sample");
  const echoScheduler = await startLoadScheduler();
  started.push(echoScheduler);
  const echo = await startEcho(echoScheduler, outputB64);
  started.push(echo);
  return { worker, echo };
}

export async function benchGrpc() {
  const started = [];
  try {
    const { worker, echo } = await startPeers(started);
    for (const peer of [worker, echo]) await warmUp(peer);
    const rounds = new Map([
      [echo, []],
      [worker, []],
    ]);
    for (let round = 0; round < ROUNDS; round++) {
      for (const peer of round % 2 === 0 ? [worker, echo] : [echo, worker]) {
        rounds.get(peer).push(await measureRound(peer));
      }
    }
    const result = { echo: summarize(echo, rounds.get(echo)), worker: summarize(worker, rounds.get(worker)) };
    const hostile = await worker.command("hostile", { repeats: 5 });
    return { ...result, latencyRatio: result.worker.p50 / result.echo.p50, hostile };
  } finally {
    for (const child of started) child.stop();
  }
}

export function printGrpc(grpc) {
  // Tick accounting (1/100 s) can put "the rest" a little below zero.
  const percent = (share) => `${Math.max(0, 100 * share).toFixed(0)}%`;
  console.log(
    `\n## Production worker over gRPC (\`cozy-worker serve\`, trivial task, loopback; medians of ${ROUNDS} rounds)`,
  );
  console.log(
    `| peer | p50 ms (c=1) | p99 ms (c=1) | tasks/s c=1 | tasks/s c=${CONCURRENCY} | peer CPU µs/task | peer CPU | scheduler CPU | rest of the machine | messages/task | peak RSS | streams | errors |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|`,
  );
  for (const r of [grpc.echo, grpc.worker]) {
    console.log(
      `| ${r.name} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.c1.toFixed(0)} | ${r.c64.toFixed(0)} | ${r.peerCpuUsPerTask.toFixed(1)} | ${percent(r.peerCpuShare)} | ${percent(r.schedulerCpuShare)} | ${percent(r.otherCpuShare)} | ${r.messagesPerTask.toFixed(1)} | ${(r.peakRss / 1e6).toFixed(0)} MB after ${r.tasks} tasks | ${r.streams} | ${r.errors} |`,
    );
  }
  console.log(
    `CPU columns at c=${CONCURRENCY}, 100% = one core. The rest of the machine used ${percent(grpc.echo.otherCpuShareC1)} (echo) and ${percent(grpc.worker.otherCpuShareC1)} (worker) during the c=1 latency runs: c=1 latency is lower when no core idles.`,
  );
  console.log(
    `p50 worker / echo: ${grpc.latencyRatio.toFixed(2)} (target ≤ 2); worker at c=${CONCURRENCY}: ${grpc.worker.c64.toFixed(0)} tasks/s (target ≥ 5,000 on 2 cores)`,
  );
  const { hostile } = grpc;
  console.log(
    `4,000,000 nils (${(hostile.bytes / 1e6).toFixed(1)} MB of msgpack) to the worker, 5 times: ${hostile.errorTypes.join(", ")} in ${hostile.median.toFixed(0)} ms median, ${hostile.max.toFixed(0)} ms max, run_request written to run_result read (target < 100 ms)`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) printGrpc(await benchGrpc());
