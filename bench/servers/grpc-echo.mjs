// The baseline peer of bench/grpc.mjs: a bare grpc-js client that dials $SCHEDULER_ADDR like the
// worker (ConnectWorker, one registration first) and answers each run_request with one run_result
// carrying the output bytes in $OUTPUT_B64, so the messages are the worker's sizes; nothing else.
import * as grpc from "@grpc/grpc-js";
import { SchedulerWorkerService } from "./grpc-proto.mjs";

const output = Buffer.from(process.env.OUTPUT_B64 ?? "", "base64");
const client = new SchedulerWorkerService(process.env.SCHEDULER_ADDR, grpc.credentials.createInsecure());
const metadata = new grpc.Metadata();
metadata.set("authorization", "Bearer bench");
const call = client.ConnectWorker(metadata);

call.on("data", (message) => {
  if (message.msg !== "run_request") return;
  call.write({ run_result: { run_id: message.run_request.run_id, success: true, output_payload: output } });
});
call.on("error", (error) => {
  console.error(`echo: ${error.message}`);
  process.exit(1);
});
call.write({ worker_registration: { resources: { worker_id: "echo" } } });
