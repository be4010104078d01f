import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { CozyModelURLRefreshRequest as _scheduler_v1_CozyModelURLRefreshRequest, CozyModelURLRefreshRequest__Output as _scheduler_v1_CozyModelURLRefreshRequest__Output } from './scheduler/v1/CozyModelURLRefreshRequest.js';
import type { CozyModelURLRefreshResponse as _scheduler_v1_CozyModelURLRefreshResponse, CozyModelURLRefreshResponse__Output as _scheduler_v1_CozyModelURLRefreshResponse__Output } from './scheduler/v1/CozyModelURLRefreshResponse.js';
import type { DeploymentArtifactConfig as _scheduler_v1_DeploymentArtifactConfig, DeploymentArtifactConfig__Output as _scheduler_v1_DeploymentArtifactConfig__Output } from './scheduler/v1/DeploymentArtifactConfig.js';
import type { FunctionSchema as _scheduler_v1_FunctionSchema, FunctionSchema__Output as _scheduler_v1_FunctionSchema__Output } from './scheduler/v1/FunctionSchema.js';
import type { InterruptTaskCommand as _scheduler_v1_InterruptTaskCommand, InterruptTaskCommand__Output as _scheduler_v1_InterruptTaskCommand__Output } from './scheduler/v1/InterruptTaskCommand.js';
import type { LoadModelCommand as _scheduler_v1_LoadModelCommand, LoadModelCommand__Output as _scheduler_v1_LoadModelCommand__Output } from './scheduler/v1/LoadModelCommand.js';
import type { LoadModelResult as _scheduler_v1_LoadModelResult, LoadModelResult__Output as _scheduler_v1_LoadModelResult__Output } from './scheduler/v1/LoadModelResult.js';
import type { RealtimeCloseCommand as _scheduler_v1_RealtimeCloseCommand, RealtimeCloseCommand__Output as _scheduler_v1_RealtimeCloseCommand__Output } from './scheduler/v1/RealtimeCloseCommand.js';
import type { RealtimeFrame as _scheduler_v1_RealtimeFrame, RealtimeFrame__Output as _scheduler_v1_RealtimeFrame__Output } from './scheduler/v1/RealtimeFrame.js';
import type { RealtimeOpenCommand as _scheduler_v1_RealtimeOpenCommand, RealtimeOpenCommand__Output as _scheduler_v1_RealtimeOpenCommand__Output } from './scheduler/v1/RealtimeOpenCommand.js';
import type { ResolvedCozyModel as _scheduler_v1_ResolvedCozyModel, ResolvedCozyModel__Output as _scheduler_v1_ResolvedCozyModel__Output } from './scheduler/v1/ResolvedCozyModel.js';
import type { ResolvedCozyModelFile as _scheduler_v1_ResolvedCozyModelFile, ResolvedCozyModelFile__Output as _scheduler_v1_ResolvedCozyModelFile__Output } from './scheduler/v1/ResolvedCozyModelFile.js';
import type { SchedulerWorkerServiceClient as _scheduler_v1_SchedulerWorkerServiceClient, SchedulerWorkerServiceDefinition as _scheduler_v1_SchedulerWorkerServiceDefinition } from './scheduler/v1/SchedulerWorkerService.js';
import type { TaskExecutionRequest as _scheduler_v1_TaskExecutionRequest, TaskExecutionRequest__Output as _scheduler_v1_TaskExecutionRequest__Output } from './scheduler/v1/TaskExecutionRequest.js';
import type { TaskExecutionResult as _scheduler_v1_TaskExecutionResult, TaskExecutionResult__Output as _scheduler_v1_TaskExecutionResult__Output } from './scheduler/v1/TaskExecutionResult.js';
import type { UnloadModelCommand as _scheduler_v1_UnloadModelCommand, UnloadModelCommand__Output as _scheduler_v1_UnloadModelCommand__Output } from './scheduler/v1/UnloadModelCommand.js';
import type { UnloadModelResult as _scheduler_v1_UnloadModelResult, UnloadModelResult__Output as _scheduler_v1_UnloadModelResult__Output } from './scheduler/v1/UnloadModelResult.js';
import type { WorkerEvent as _scheduler_v1_WorkerEvent, WorkerEvent__Output as _scheduler_v1_WorkerEvent__Output } from './scheduler/v1/WorkerEvent.js';
import type { WorkerRegistration as _scheduler_v1_WorkerRegistration, WorkerRegistration__Output as _scheduler_v1_WorkerRegistration__Output } from './scheduler/v1/WorkerRegistration.js';
import type { WorkerResources as _scheduler_v1_WorkerResources, WorkerResources__Output as _scheduler_v1_WorkerResources__Output } from './scheduler/v1/WorkerResources.js';
import type { WorkerSchedulerMessage as _scheduler_v1_WorkerSchedulerMessage, WorkerSchedulerMessage__Output as _scheduler_v1_WorkerSchedulerMessage__Output } from './scheduler/v1/WorkerSchedulerMessage.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  scheduler: {
    v1: {
      CozyModelURLRefreshRequest: MessageTypeDefinition<_scheduler_v1_CozyModelURLRefreshRequest, _scheduler_v1_CozyModelURLRefreshRequest__Output>
      CozyModelURLRefreshResponse: MessageTypeDefinition<_scheduler_v1_CozyModelURLRefreshResponse, _scheduler_v1_CozyModelURLRefreshResponse__Output>
      DeploymentArtifactConfig: MessageTypeDefinition<_scheduler_v1_DeploymentArtifactConfig, _scheduler_v1_DeploymentArtifactConfig__Output>
      FunctionSchema: MessageTypeDefinition<_scheduler_v1_FunctionSchema, _scheduler_v1_FunctionSchema__Output>
      InterruptTaskCommand: MessageTypeDefinition<_scheduler_v1_InterruptTaskCommand, _scheduler_v1_InterruptTaskCommand__Output>
      LoadModelCommand: MessageTypeDefinition<_scheduler_v1_LoadModelCommand, _scheduler_v1_LoadModelCommand__Output>
      LoadModelResult: MessageTypeDefinition<_scheduler_v1_LoadModelResult, _scheduler_v1_LoadModelResult__Output>
      RealtimeCloseCommand: MessageTypeDefinition<_scheduler_v1_RealtimeCloseCommand, _scheduler_v1_RealtimeCloseCommand__Output>
      RealtimeFrame: MessageTypeDefinition<_scheduler_v1_RealtimeFrame, _scheduler_v1_RealtimeFrame__Output>
      RealtimeOpenCommand: MessageTypeDefinition<_scheduler_v1_RealtimeOpenCommand, _scheduler_v1_RealtimeOpenCommand__Output>
      ResolvedCozyModel: MessageTypeDefinition<_scheduler_v1_ResolvedCozyModel, _scheduler_v1_ResolvedCozyModel__Output>
      ResolvedCozyModelFile: MessageTypeDefinition<_scheduler_v1_ResolvedCozyModelFile, _scheduler_v1_ResolvedCozyModelFile__Output>
      SchedulerWorkerService: SubtypeConstructor<typeof grpc.Client, _scheduler_v1_SchedulerWorkerServiceClient> & { service: _scheduler_v1_SchedulerWorkerServiceDefinition }
      TaskExecutionRequest: MessageTypeDefinition<_scheduler_v1_TaskExecutionRequest, _scheduler_v1_TaskExecutionRequest__Output>
      TaskExecutionResult: MessageTypeDefinition<_scheduler_v1_TaskExecutionResult, _scheduler_v1_TaskExecutionResult__Output>
      UnloadModelCommand: MessageTypeDefinition<_scheduler_v1_UnloadModelCommand, _scheduler_v1_UnloadModelCommand__Output>
      UnloadModelResult: MessageTypeDefinition<_scheduler_v1_UnloadModelResult, _scheduler_v1_UnloadModelResult__Output>
      WorkerEvent: MessageTypeDefinition<_scheduler_v1_WorkerEvent, _scheduler_v1_WorkerEvent__Output>
      WorkerRegistration: MessageTypeDefinition<_scheduler_v1_WorkerRegistration, _scheduler_v1_WorkerRegistration__Output>
      WorkerResources: MessageTypeDefinition<_scheduler_v1_WorkerResources, _scheduler_v1_WorkerResources__Output>
      WorkerSchedulerMessage: MessageTypeDefinition<_scheduler_v1_WorkerSchedulerMessage, _scheduler_v1_WorkerSchedulerMessage__Output>
    }
  }
}

