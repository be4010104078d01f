// The scheduler protocol for the bench's own gRPC peers, loaded from proto/worker_scheduler.proto
// (not through dist/) so that they keep working whatever src/ does with it.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const definition = protoLoader.loadSync(
  new URL("../../proto/worker_scheduler.proto", import.meta.url).pathname,
  { keepCase: true, longs: Number, bytes: Buffer, oneofs: true },
);

/** Client constructor of `scheduler.v1.SchedulerWorkerService`; `.service` is its definition. */
export const SchedulerWorkerService =
  grpc.loadPackageDefinition(definition).scheduler.v1.SchedulerWorkerService;
