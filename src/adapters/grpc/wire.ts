import {
  packageDefinition,
  type WorkerSchedulerMessage,
  type WorkerSchedulerMessage__Output,
} from "./proto.js";

const method = packageDefinition["scheduler.v1.SchedulerWorkerService"] as unknown as Record<
  "ConnectWorker",
  {
    requestSerialize(message: WorkerSchedulerMessage): Buffer;
    responseDeserialize(bytes: Buffer): WorkerSchedulerMessage__Output;
  }
>;

/**
 * A message to the scheduler as protobuf bytes. The worker serializes each message once, when it
 * queues it, so that the outbox holds compact buffers and the stream writes them unchanged.
 */
export function encodeMessage(message: WorkerSchedulerMessage): Buffer {
  return method.ConnectWorker.requestSerialize(message);
}

/** A message from the scheduler, decoded with every default filled in. */
export function decodeMessage(bytes: Buffer): WorkerSchedulerMessage__Output {
  return method.ConnectWorker.responseDeserialize(bytes);
}
