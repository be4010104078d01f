// Original file: proto/worker_scheduler.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { WorkerSchedulerMessage as _scheduler_v1_WorkerSchedulerMessage, WorkerSchedulerMessage__Output as _scheduler_v1_WorkerSchedulerMessage__Output } from '../../scheduler/v1/WorkerSchedulerMessage.js';

export interface SchedulerWorkerServiceClient extends grpc.Client {
  ConnectWorker(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_scheduler_v1_WorkerSchedulerMessage, _scheduler_v1_WorkerSchedulerMessage__Output>;
  ConnectWorker(options?: grpc.CallOptions): grpc.ClientDuplexStream<_scheduler_v1_WorkerSchedulerMessage, _scheduler_v1_WorkerSchedulerMessage__Output>;
  connectWorker(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_scheduler_v1_WorkerSchedulerMessage, _scheduler_v1_WorkerSchedulerMessage__Output>;
  connectWorker(options?: grpc.CallOptions): grpc.ClientDuplexStream<_scheduler_v1_WorkerSchedulerMessage, _scheduler_v1_WorkerSchedulerMessage__Output>;
  
}

export interface SchedulerWorkerServiceHandlers extends grpc.UntypedServiceImplementation {
  ConnectWorker: grpc.handleBidiStreamingCall<_scheduler_v1_WorkerSchedulerMessage__Output, _scheduler_v1_WorkerSchedulerMessage>;
  
}

export interface SchedulerWorkerServiceDefinition extends grpc.ServiceDefinition {
  ConnectWorker: MethodDefinition<_scheduler_v1_WorkerSchedulerMessage, _scheduler_v1_WorkerSchedulerMessage, _scheduler_v1_WorkerSchedulerMessage__Output, _scheduler_v1_WorkerSchedulerMessage__Output>
}
