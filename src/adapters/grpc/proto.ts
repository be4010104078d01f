/**
 * Typed handles on the scheduler wire protocol (`proto/worker_scheduler.proto`, `proto/frontend.proto`).
 *
 * The .proto files are loaded at runtime with @grpc/proto-loader; the TypeScript types come from
 * `./generated/` (regenerate with `npm run proto:types` after editing a .proto file).
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { PROTO_DIR } from "../../host/package.js";
import type { ProtoGrpcType as FrontendProtoGrpcType } from "./generated/frontend.js";
import type {
  CozyModelURLRefreshRequest as CozyModelURLRefreshRequestIn,
  CozyModelURLRefreshRequest__Output as CozyModelURLRefreshRequestOut,
} from "./generated/scheduler/v1/CozyModelURLRefreshRequest.js";
import type {
  CozyModelURLRefreshResponse as CozyModelURLRefreshResponseIn,
  CozyModelURLRefreshResponse__Output as CozyModelURLRefreshResponseOut,
} from "./generated/scheduler/v1/CozyModelURLRefreshResponse.js";
import type {
  DeploymentArtifactConfig as DeploymentArtifactConfigIn,
  DeploymentArtifactConfig__Output as DeploymentArtifactConfigOut,
} from "./generated/scheduler/v1/DeploymentArtifactConfig.js";
import type {
  FunctionSchema as FunctionSchemaIn,
  FunctionSchema__Output as FunctionSchemaOut,
} from "./generated/scheduler/v1/FunctionSchema.js";
import type {
  InterruptTaskCommand as InterruptTaskCommandIn,
  InterruptTaskCommand__Output as InterruptTaskCommandOut,
} from "./generated/scheduler/v1/InterruptTaskCommand.js";
import type {
  LoadModelCommand as LoadModelCommandIn,
  LoadModelCommand__Output as LoadModelCommandOut,
} from "./generated/scheduler/v1/LoadModelCommand.js";
import type {
  LoadModelResult as LoadModelResultIn,
  LoadModelResult__Output as LoadModelResultOut,
} from "./generated/scheduler/v1/LoadModelResult.js";
import type {
  RealtimeCloseCommand as RealtimeCloseCommandIn,
  RealtimeCloseCommand__Output as RealtimeCloseCommandOut,
} from "./generated/scheduler/v1/RealtimeCloseCommand.js";
import type {
  RealtimeFrame as RealtimeFrameIn,
  RealtimeFrame__Output as RealtimeFrameOut,
} from "./generated/scheduler/v1/RealtimeFrame.js";
import type {
  RealtimeOpenCommand as RealtimeOpenCommandIn,
  RealtimeOpenCommand__Output as RealtimeOpenCommandOut,
} from "./generated/scheduler/v1/RealtimeOpenCommand.js";
import type {
  ResolvedCozyModel as ResolvedCozyModelIn,
  ResolvedCozyModel__Output as ResolvedCozyModelOut,
} from "./generated/scheduler/v1/ResolvedCozyModel.js";
import type {
  ResolvedCozyModelFile as ResolvedCozyModelFileIn,
  ResolvedCozyModelFile__Output as ResolvedCozyModelFileOut,
} from "./generated/scheduler/v1/ResolvedCozyModelFile.js";
import type {
  SchedulerWorkerServiceClient as SchedulerWorkerServiceClientType,
  SchedulerWorkerServiceDefinition as SchedulerWorkerServiceDefinitionType,
  SchedulerWorkerServiceHandlers as SchedulerWorkerServiceHandlersType,
} from "./generated/scheduler/v1/SchedulerWorkerService.js";
import type {
  TaskExecutionRequest as TaskExecutionRequestIn,
  TaskExecutionRequest__Output as TaskExecutionRequestOut,
} from "./generated/scheduler/v1/TaskExecutionRequest.js";
import type {
  TaskExecutionResult as TaskExecutionResultIn,
  TaskExecutionResult__Output as TaskExecutionResultOut,
} from "./generated/scheduler/v1/TaskExecutionResult.js";
import type {
  UnloadModelCommand as UnloadModelCommandIn,
  UnloadModelCommand__Output as UnloadModelCommandOut,
} from "./generated/scheduler/v1/UnloadModelCommand.js";
import type {
  UnloadModelResult as UnloadModelResultIn,
  UnloadModelResult__Output as UnloadModelResultOut,
} from "./generated/scheduler/v1/UnloadModelResult.js";
import type {
  WorkerEvent as WorkerEventIn,
  WorkerEvent__Output as WorkerEventOut,
} from "./generated/scheduler/v1/WorkerEvent.js";
import type {
  WorkerRegistration as WorkerRegistrationIn,
  WorkerRegistration__Output as WorkerRegistrationOut,
} from "./generated/scheduler/v1/WorkerRegistration.js";
import type {
  WorkerResources as WorkerResourcesIn,
  WorkerResources__Output as WorkerResourcesOut,
} from "./generated/scheduler/v1/WorkerResources.js";
import type {
  WorkerSchedulerMessage as WorkerSchedulerMessageIn,
  WorkerSchedulerMessage__Output as WorkerSchedulerMessageOut,
} from "./generated/scheduler/v1/WorkerSchedulerMessage.js";
import type { ProtoGrpcType as SchedulerProtoGrpcType } from "./generated/worker_scheduler.js";

// ---- message types: `X` is what we may send (permissive), `X__Output` is what we receive (all defaults set)

export type WorkerSchedulerMessage = WorkerSchedulerMessageIn;
export type WorkerSchedulerMessage__Output = WorkerSchedulerMessageOut;
export type TaskExecutionRequest = TaskExecutionRequestIn;
export type TaskExecutionRequest__Output = TaskExecutionRequestOut;
export type TaskExecutionResult = TaskExecutionResultIn;
export type TaskExecutionResult__Output = TaskExecutionResultOut;
export type WorkerEvent = WorkerEventIn;
export type WorkerEvent__Output = WorkerEventOut;
export type WorkerRegistration = WorkerRegistrationIn;
export type WorkerRegistration__Output = WorkerRegistrationOut;
export type WorkerResources = WorkerResourcesIn;
export type WorkerResources__Output = WorkerResourcesOut;
export type FunctionSchema = FunctionSchemaIn;
export type FunctionSchema__Output = FunctionSchemaOut;
export type LoadModelCommand = LoadModelCommandIn;
export type LoadModelCommand__Output = LoadModelCommandOut;
export type LoadModelResult = LoadModelResultIn;
export type LoadModelResult__Output = LoadModelResultOut;
export type UnloadModelCommand = UnloadModelCommandIn;
export type UnloadModelCommand__Output = UnloadModelCommandOut;
export type UnloadModelResult = UnloadModelResultIn;
export type UnloadModelResult__Output = UnloadModelResultOut;
export type InterruptTaskCommand = InterruptTaskCommandIn;
export type InterruptTaskCommand__Output = InterruptTaskCommandOut;
export type DeploymentArtifactConfig = DeploymentArtifactConfigIn;
export type DeploymentArtifactConfig__Output = DeploymentArtifactConfigOut;
export type ResolvedCozyModel = ResolvedCozyModelIn;
export type ResolvedCozyModel__Output = ResolvedCozyModelOut;
export type ResolvedCozyModelFile = ResolvedCozyModelFileIn;
export type ResolvedCozyModelFile__Output = ResolvedCozyModelFileOut;
export type RealtimeOpenCommand = RealtimeOpenCommandIn;
export type RealtimeOpenCommand__Output = RealtimeOpenCommandOut;
export type RealtimeFrame = RealtimeFrameIn;
export type RealtimeFrame__Output = RealtimeFrameOut;
export type RealtimeCloseCommand = RealtimeCloseCommandIn;
export type RealtimeCloseCommand__Output = RealtimeCloseCommandOut;
export type CozyModelURLRefreshRequest = CozyModelURLRefreshRequestIn;
export type CozyModelURLRefreshRequest__Output = CozyModelURLRefreshRequestOut;
export type CozyModelURLRefreshResponse = CozyModelURLRefreshResponseIn;
export type CozyModelURLRefreshResponse__Output = CozyModelURLRefreshResponseOut;

/** Name of the `oneof msg` arm set on an envelope (`"run_request"`, `"worker_registration"`, ...). */
export type WorkerSchedulerMessageArm = NonNullable<WorkerSchedulerMessage__Output["msg"]>;

// ---- service types

/** Client stub for `scheduler.v1.SchedulerWorkerService` (the worker dials the scheduler). */
export type SchedulerWorkerServiceClient = SchedulerWorkerServiceClientType;
/** Handler map for a `@grpc/grpc-js` server implementing the service (mock schedulers in tests). */
export type SchedulerWorkerServiceHandlers = SchedulerWorkerServiceHandlersType;
export type SchedulerWorkerServiceDefinition = SchedulerWorkerServiceDefinitionType;
export type SchedulerWorkerServiceClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => SchedulerWorkerServiceClient;

// ---- loading

export const PROTO_FILES = ["worker_scheduler.proto", "frontend.proto"] as const;

/** proto-loader options; the generated types in ./generated assume exactly these. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** The proto-loader package definition of both files (keys are fully qualified names). */
export const packageDefinition: protoLoader.PackageDefinition = protoLoader.loadSync(
  [...PROTO_FILES],
  PROTO_LOADER_OPTIONS,
);

/** Both packages as a grpc-js object tree: `protos.scheduler.v1.*`, `protos.frontend.v1.*`. */
export const protos = grpc.loadPackageDefinition(packageDefinition) as unknown as SchedulerProtoGrpcType &
  FrontendProtoGrpcType;

/** Service definition of `scheduler.v1.SchedulerWorkerService`, for `server.addService(...)`. */
export const SchedulerWorkerService: SchedulerWorkerServiceDefinition =
  protos.scheduler.v1.SchedulerWorkerService.service;

/** Typed client constructor: `new SchedulerWorkerServiceClient(address, credentials)`. */
export const SchedulerWorkerServiceClient: SchedulerWorkerServiceClientConstructor =
  protos.scheduler.v1.SchedulerWorkerService;

/** gRPC method path of the one rpc the worker uses. */
export const CONNECT_WORKER_PATH = "/scheduler.v1.SchedulerWorkerService/ConnectWorker";
