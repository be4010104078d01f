// Original file: proto/worker_scheduler.proto

import type { WorkerRegistration as _scheduler_v1_WorkerRegistration, WorkerRegistration__Output as _scheduler_v1_WorkerRegistration__Output } from '../../scheduler/v1/WorkerRegistration.js';
import type { TaskExecutionResult as _scheduler_v1_TaskExecutionResult, TaskExecutionResult__Output as _scheduler_v1_TaskExecutionResult__Output } from '../../scheduler/v1/TaskExecutionResult.js';
import type { LoadModelResult as _scheduler_v1_LoadModelResult, LoadModelResult__Output as _scheduler_v1_LoadModelResult__Output } from '../../scheduler/v1/LoadModelResult.js';
import type { UnloadModelResult as _scheduler_v1_UnloadModelResult, UnloadModelResult__Output as _scheduler_v1_UnloadModelResult__Output } from '../../scheduler/v1/UnloadModelResult.js';
import type { WorkerEvent as _scheduler_v1_WorkerEvent, WorkerEvent__Output as _scheduler_v1_WorkerEvent__Output } from '../../scheduler/v1/WorkerEvent.js';
import type { CozyModelURLRefreshRequest as _scheduler_v1_CozyModelURLRefreshRequest, CozyModelURLRefreshRequest__Output as _scheduler_v1_CozyModelURLRefreshRequest__Output } from '../../scheduler/v1/CozyModelURLRefreshRequest.js';
import type { TaskExecutionRequest as _scheduler_v1_TaskExecutionRequest, TaskExecutionRequest__Output as _scheduler_v1_TaskExecutionRequest__Output } from '../../scheduler/v1/TaskExecutionRequest.js';
import type { LoadModelCommand as _scheduler_v1_LoadModelCommand, LoadModelCommand__Output as _scheduler_v1_LoadModelCommand__Output } from '../../scheduler/v1/LoadModelCommand.js';
import type { UnloadModelCommand as _scheduler_v1_UnloadModelCommand, UnloadModelCommand__Output as _scheduler_v1_UnloadModelCommand__Output } from '../../scheduler/v1/UnloadModelCommand.js';
import type { InterruptTaskCommand as _scheduler_v1_InterruptTaskCommand, InterruptTaskCommand__Output as _scheduler_v1_InterruptTaskCommand__Output } from '../../scheduler/v1/InterruptTaskCommand.js';
import type { DeploymentArtifactConfig as _scheduler_v1_DeploymentArtifactConfig, DeploymentArtifactConfig__Output as _scheduler_v1_DeploymentArtifactConfig__Output } from '../../scheduler/v1/DeploymentArtifactConfig.js';
import type { RealtimeOpenCommand as _scheduler_v1_RealtimeOpenCommand, RealtimeOpenCommand__Output as _scheduler_v1_RealtimeOpenCommand__Output } from '../../scheduler/v1/RealtimeOpenCommand.js';
import type { RealtimeFrame as _scheduler_v1_RealtimeFrame, RealtimeFrame__Output as _scheduler_v1_RealtimeFrame__Output } from '../../scheduler/v1/RealtimeFrame.js';
import type { RealtimeCloseCommand as _scheduler_v1_RealtimeCloseCommand, RealtimeCloseCommand__Output as _scheduler_v1_RealtimeCloseCommand__Output } from '../../scheduler/v1/RealtimeCloseCommand.js';
import type { CozyModelURLRefreshResponse as _scheduler_v1_CozyModelURLRefreshResponse, CozyModelURLRefreshResponse__Output as _scheduler_v1_CozyModelURLRefreshResponse__Output } from '../../scheduler/v1/CozyModelURLRefreshResponse.js';

export interface WorkerSchedulerMessage {
  'worker_registration'?: (_scheduler_v1_WorkerRegistration | null);
  'run_result'?: (_scheduler_v1_TaskExecutionResult | null);
  'load_model_result'?: (_scheduler_v1_LoadModelResult | null);
  'unload_model_result'?: (_scheduler_v1_UnloadModelResult | null);
  'worker_event'?: (_scheduler_v1_WorkerEvent | null);
  'cozy_model_url_refresh_request'?: (_scheduler_v1_CozyModelURLRefreshRequest | null);
  'run_request'?: (_scheduler_v1_TaskExecutionRequest | null);
  'load_model_cmd'?: (_scheduler_v1_LoadModelCommand | null);
  'unload_model_cmd'?: (_scheduler_v1_UnloadModelCommand | null);
  'interrupt_run_cmd'?: (_scheduler_v1_InterruptTaskCommand | null);
  'deployment_artifact_config'?: (_scheduler_v1_DeploymentArtifactConfig | null);
  'realtime_open_cmd'?: (_scheduler_v1_RealtimeOpenCommand | null);
  'realtime_frame'?: (_scheduler_v1_RealtimeFrame | null);
  'realtime_close_cmd'?: (_scheduler_v1_RealtimeCloseCommand | null);
  'cozy_model_url_refresh_response'?: (_scheduler_v1_CozyModelURLRefreshResponse | null);
  'msg'?: "worker_registration"|"run_result"|"load_model_result"|"unload_model_result"|"worker_event"|"cozy_model_url_refresh_request"|"run_request"|"load_model_cmd"|"unload_model_cmd"|"interrupt_run_cmd"|"deployment_artifact_config"|"realtime_open_cmd"|"realtime_frame"|"realtime_close_cmd"|"cozy_model_url_refresh_response";
}

export interface WorkerSchedulerMessage__Output {
  'worker_registration'?: (_scheduler_v1_WorkerRegistration__Output | null);
  'run_result'?: (_scheduler_v1_TaskExecutionResult__Output | null);
  'load_model_result'?: (_scheduler_v1_LoadModelResult__Output | null);
  'unload_model_result'?: (_scheduler_v1_UnloadModelResult__Output | null);
  'worker_event'?: (_scheduler_v1_WorkerEvent__Output | null);
  'cozy_model_url_refresh_request'?: (_scheduler_v1_CozyModelURLRefreshRequest__Output | null);
  'run_request'?: (_scheduler_v1_TaskExecutionRequest__Output | null);
  'load_model_cmd'?: (_scheduler_v1_LoadModelCommand__Output | null);
  'unload_model_cmd'?: (_scheduler_v1_UnloadModelCommand__Output | null);
  'interrupt_run_cmd'?: (_scheduler_v1_InterruptTaskCommand__Output | null);
  'deployment_artifact_config'?: (_scheduler_v1_DeploymentArtifactConfig__Output | null);
  'realtime_open_cmd'?: (_scheduler_v1_RealtimeOpenCommand__Output | null);
  'realtime_frame'?: (_scheduler_v1_RealtimeFrame__Output | null);
  'realtime_close_cmd'?: (_scheduler_v1_RealtimeCloseCommand__Output | null);
  'cozy_model_url_refresh_response'?: (_scheduler_v1_CozyModelURLRefreshResponse__Output | null);
  'msg'?: "worker_registration"|"run_result"|"load_model_result"|"unload_model_result"|"worker_event"|"cozy_model_url_refresh_request"|"run_request"|"load_model_cmd"|"unload_model_cmd"|"interrupt_run_cmd"|"deployment_artifact_config"|"realtime_open_cmd"|"realtime_frame"|"realtime_close_cmd"|"cozy_model_url_refresh_response";
}
