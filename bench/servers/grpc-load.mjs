// A load scheduler: a grpc-js server of scheduler.v1.SchedulerWorkerService that drives the one
// peer that connects (`cozy-worker serve`, or bench/servers/grpc-echo.mjs) with trivial run_requests
// and times them where a scheduler would, from the run_request written to its run_result read.
// Forked by bench/grpc.mjs and bench/grpc-million.mjs, so that the measuring side does not share an
// event loop with them; it says { port } once listening and { ready } once the peer has registered,
// then answers each command ({ cmd: "sample" | "latency" | "rate" | "count" | "hostile", ... }) with
// { reply }.
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { encode } from "@msgpack/msgpack";
import { SchedulerWorkerService } from "./grpc-proto.mjs";

const INPUT = Buffer.from(encode({ n: 1 }));

/** The newest stream that has registered: where run_requests go. */
let peer;
/** Streams that have registered so far: more than one means the peer reconnected. */
let streams = 0;
let onResult = () => {};
let events = 0;
let nextId = 0;

function connectWorker(call) {
  let registered = false;
  call.on("data", (message) => {
    if (message.msg === "run_result") onResult(message.run_result);
    else if (message.msg === "worker_event") events++;
    else if (message.msg === "worker_registration" && !registered) {
      registered = true;
      peer = call;
      if (++streams === 1) process.send({ ready: true });
    }
  });
  call.on("error", () => {});
  call.on("end", () => call.end());
}

function send(runId, input = INPUT) {
  peer.write({ run_request: { run_id: runId, function_name: "ping", input_payload: input } });
}

/** Runs one task and resolves with its run_result; rejects after `timeoutMs` without one. */
function runOne(timeoutMs = 10_000, input = INPUT) {
  const runId = `r${nextId++}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no result for ${runId} in ${timeoutMs} ms`)), timeoutMs);
    onResult = (result) => {
      if (result.run_id !== runId) return;
      clearTimeout(timer);
      resolve(result);
    };
    send(runId, input);
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** One task's output bytes: what the echo answers with. */
async function sample() {
  const result = await runOne();
  return { outputB64: result.output_payload.toString("base64") };
}

/**
 * A hostile payload, `repeats` times one after another: 4,000,000 nils (a 4 MB msgpack array) beside
 * the trivial input; ms from run_request written to run_result read, and the error type it got.
 */
async function hostile({ repeats }) {
  const input = Buffer.from(encode({ n: 1, items: new Array(4_000_000).fill(null) }));
  const samples = [];
  const errorTypes = new Set();
  for (let i = 0; i < repeats; i++) {
    const sent = performance.now();
    const result = await runOne(60_000, input);
    samples.push(performance.now() - sent);
    errorTypes.add(result.success ? "success" : result.error_type);
  }
  samples.sort((a, b) => a - b);
  return {
    bytes: input.byteLength,
    median: samples[Math.floor(samples.length / 2)],
    max: samples.at(-1),
    errorTypes: [...errorTypes],
  };
}

/**
 * Concurrency 1: `tasks` tasks back to back after `warmup` more, latency p50/p99 in ms, and how busy
 * the rest of the machine was meanwhile (cores that never idle wake up faster).
 */
async function latency({ tasks, warmup, peerPid }) {
  for (let i = 0; i < warmup; i++) await runOne();
  const samples = new Float64Array(tasks);
  const start = cpuNow(peerPid);
  for (let i = 0; i < tasks; i++) {
    const sent = performance.now();
    await runOne();
    samples[i] = performance.now() - sent;
  }
  const end = cpuNow(peerPid);
  samples.sort();
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), ...cpuShares(start, end) };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds all cores have spent busy so far, from /proc/stat. */
function machineBusySeconds() {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8")
    .split("\n")[0]
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Both processes' and the machine's CPU seconds, all from the kernel's tick accounting. */
function cpuNow(peerPid) {
  return {
    at: performance.now(),
    own: cpuSeconds(process.pid),
    peer: cpuSeconds(peerPid),
    machine: machineBusySeconds(),
    events,
  };
}

/** Cores used between two {@link cpuNow}: by this process, by the peer, by everything else. */
function cpuShares(start, end) {
  const elapsed = (end.at - start.at) / 1000;
  const own = end.own - start.own;
  const peer = end.peer - start.peer;
  return {
    ownCpuShare: own / elapsed,
    peerCpuShare: peer / elapsed,
    otherCpuShare: (end.machine - start.machine - own - peer) / elapsed,
  };
}

/**
 * `concurrency` runs in flight, a new one sent as each result arrives; the results that arrive in
 * the `seconds` after `warmupSeconds` are counted, with the CPU both processes used meanwhile. Runs
 * still unanswered `drainMs` after the end are reported as such.
 */
function rate({ concurrency, seconds, warmupSeconds, peerPid, drainMs = 10_000 }) {
  return new Promise((resolve) => {
    const pending = new Set();
    let counting = false;
    let stopped = false;
    let done = 0;
    let failed = 0;
    let unexpected = 0;
    let start;
    let end;
    const launch = () => {
      const runId = `r${nextId++}`;
      pending.add(runId);
      send(runId);
    };
    onResult = (result) => {
      if (!pending.delete(result.run_id)) return void unexpected++;
      if (!result.success) failed++;
      if (counting) done++;
      if (!stopped) launch();
      else if (pending.size === 0) resolve(summary());
    };
    const summary = () => ({
      tasksPerSecond: (done * 1000) / (end.at - start.at),
      ...cpuShares(start, end),
      peerCpuUsPerTask: ((end.peer - start.peer) * 1e6) / done,
      eventsPerTask: (end.events - start.events) / done,
      failed,
      unexpected,
      unanswered: pending.size,
      streams,
      sentSoFar: nextId,
    });
    setTimeout(() => {
      start = cpuNow(peerPid);
      counting = true;
    }, warmupSeconds * 1000);
    setTimeout(
      () => {
        end = cpuNow(peerPid);
        counting = false;
        stopped = true;
        setTimeout(() => resolve(summary()), drainMs);
      },
      (warmupSeconds + seconds) * 1000,
    );
    for (let i = 0; i < concurrency; i++) launch();
  });
}

/**
 * Exactly `total` tasks (run ids m0…m{total-1}) at `concurrency`, every result counted by run id; a
 * { progress } message every `progressMs`. Ends `graceMs` after the last first result (to catch late
 * duplicates), or when no result came for `stallMs`.
 */
function count({ total, concurrency, progressMs, graceMs = 2000, stallMs = 30_000 }) {
  return new Promise((resolve) => {
    const counts = new Uint8Array(total);
    const started = performance.now();
    let sent = 0;
    let firsts = 0;
    let failed = 0;
    let unexpected = 0;
    let lastResult = started;
    let allAt;
    const launch = () => {
      if (sent < total) send(`m${sent++}`);
    };
    const finish = (stalled) => {
      clearInterval(progress);
      onResult = () => {};
      let missing = 0;
      let duplicates = 0;
      for (const n of counts) {
        if (n === 0) missing++;
        else duplicates += n - 1;
      }
      const seconds = ((allAt ?? lastResult) - started) / 1000;
      resolve({ total, missing, duplicates, failed, unexpected, stalled, seconds, streams });
    };
    onResult = (result) => {
      lastResult = performance.now();
      const index = result.run_id.startsWith("m") ? Number(result.run_id.slice(1)) : Number.NaN;
      if (!Number.isInteger(index) || index < 0 || index >= total) return void unexpected++;
      if (!result.success) failed++;
      const seen = counts[index];
      if (seen < 255) counts[index] = seen + 1;
      if (seen > 0) return;
      firsts++;
      if (firsts === total) {
        allAt = lastResult;
        setTimeout(() => finish(false), graceMs);
      } else launch();
    };
    const progress = setInterval(() => {
      const seconds = (performance.now() - started) / 1000;
      process.send({ progress: { done: firsts, seconds } });
      if (firsts < total && performance.now() - lastResult > stallMs) finish(true);
    }, progressMs);
    for (let i = 0; i < concurrency; i++) launch();
  });
}

const commands = { sample, latency, rate, count, hostile };

process.on("disconnect", () => process.exit(0));
process.on("message", async (command) => {
  try {
    process.send({ reply: await commands[command.cmd](command) });
  } catch (error) {
    process.send({ reply: { error: error.message } });
  }
});

const server = new grpc.Server();
server.addService(SchedulerWorkerService.service, { ConnectWorker: connectWorker });
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.send({ port });
});
