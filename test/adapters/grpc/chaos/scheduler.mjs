// An independent Cozy scheduler for the chaos suite, written only from proto/worker_scheduler.proto.
// It imports nothing from the worker (src/ or dist/), so it cannot share the worker's mistakes.
//
//   node scheduler.mjs --state <dir> [--port <n>] [--headers eager|lazy]
//
// All state lives in files under --state, so that an instance can be SIGKILLed and a new one started
// on the same port carries on where it stopped:
//   plan.jsonl     runs to dispatch, one {run_id, function_name, payload, at} per line (the test appends)
//   sent.jsonl     every run_request it sent; a run listed here is never sent again, by any instance
//   results.jsonl  every run_result it received: {run_id, success, error_type, stream, at}
//   deltas.jsonl   every output.delta worker_event it received: {run_id, delta, stream, at}
//   streams.jsonl  {event: "open" | "registered" | "closed", stream, at} per ConnectWorker stream
// Every line is written synchronously before anything else happens, so a SIGKILL loses nothing
// that was received.
//
// --headers eager: response headers go out as soon as a stream opens (call.sendMetadata).
// --headers lazy:  nothing at all is sent until the worker has registered; the headers then go out
//                  with the first message, as many real schedulers do.
//
// It prints one JSON line {"listening": <port>} on stdout once it accepts connections.

import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { encode } from "@msgpack/msgpack";

const PROTO = resolve(import.meta.dirname, "../../../../proto/worker_scheduler.proto");
const DISPATCH_TICK_MS = 20;
// Like a production server, the scheduler notices a dead worker connection by itself (and then stops
// dispatching to it); it never tells the worker anything about it.
const SERVER_OPTIONS = {
  "grpc.keepalive_time_ms": 1_000,
  "grpc.keepalive_timeout_ms": 1_000,
};

const { values: args } = parseArgs({
  options: {
    state: { type: "string" },
    port: { type: "string", default: "0" },
    headers: { type: "string", default: "eager" },
  },
});
if (!args.state || !["eager", "lazy"].includes(args.headers)) {
  process.stderr.write("usage: scheduler.mjs --state <dir> [--port <n>] [--headers eager|lazy]\n");
  process.exit(2);
}

const files = {
  plan: join(args.state, "plan.jsonl"),
  sent: join(args.state, "sent.jsonl"),
  results: join(args.state, "results.jsonl"),
  deltas: join(args.state, "deltas.jsonl"),
  streams: join(args.state, "streams.jsonl"),
};

const sent = new Set(readJsonLines(files.sent).map((line) => line.run_id));
/** The newest registered stream: where runs go. */
let current;
let streamCount = 0;

function readJsonLines(path) {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  // A line the test is still appending has no newline yet: it is read on the next tick.
  const complete = text.slice(0, text.lastIndexOf("\n") + 1);
  return complete
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

function append(path, record) {
  appendFileSync(path, `${JSON.stringify({ ...record, at: Date.now() })}\n`);
}

function connectWorker(call) {
  const stream = `${process.pid}-${++streamCount}`;
  const session = { call, stream, registered: false, closed: false };
  append(files.streams, { event: "open", stream });
  if (args.headers === "eager") call.sendMetadata(new grpc.Metadata());

  call.on("data", (message) => receive(session, message));
  call.on("end", () => {
    close(session);
    call.end();
  });
  call.on("cancelled", () => close(session));
  call.on("error", () => close(session));
  call.on("close", () => close(session));
}

function receive(session, message) {
  if (message.worker_registration && !session.registered && !session.closed) {
    session.registered = true;
    current = session;
    append(files.streams, { event: "registered", stream: session.stream });
  }
  const event = message.worker_event;
  if (event?.event_type === "output.delta") {
    const delta = JSON.parse(Buffer.from(event.payload_json).toString("utf8"));
    append(files.deltas, { run_id: event.run_id, delta, stream: session.stream });
  }
  const result = message.run_result;
  if (result) {
    append(files.results, {
      run_id: result.run_id,
      success: result.success,
      error_type: result.error_type,
      stream: session.stream,
    });
  }
}

function close(session) {
  if (session.closed) return;
  session.closed = true;
  if (current === session) current = undefined;
  append(files.streams, { event: "closed", stream: session.stream });
}

/** Sends every planned run that is due and was never sent, on the newest registered stream. */
function dispatch() {
  const session = current;
  if (!session || session.closed) return;
  const now = Date.now();
  for (const run of readJsonLines(files.plan)) {
    if (sent.has(run.run_id) || (run.at ?? 0) > now) continue;
    sent.add(run.run_id);
    append(files.sent, { run_id: run.run_id, stream: session.stream });
    session.call.write({
      run_request: {
        run_id: run.run_id,
        function_name: run.function_name,
        input_payload: Buffer.from(encode(run.payload)),
        timeout_ms: 0,
      },
    });
  }
}

const definition = protoLoader.loadSync(PROTO, {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
const { SchedulerWorkerService } = grpc.loadPackageDefinition(definition).scheduler.v1;
const server = new grpc.Server(SERVER_OPTIONS);
server.addService(SchedulerWorkerService.service, { ConnectWorker: connectWorker });
server.bindAsync(`127.0.0.1:${args.port}`, grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`cannot listen on 127.0.0.1:${args.port}: ${error.message}\n`);
    process.exit(1);
  }
  setInterval(dispatch, DISPATCH_TICK_MS);
  process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
});
