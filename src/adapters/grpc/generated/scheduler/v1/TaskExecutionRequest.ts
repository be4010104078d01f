// Original file: proto/worker_scheduler.proto

import type { ResolvedCozyModel as _scheduler_v1_ResolvedCozyModel, ResolvedCozyModel__Output as _scheduler_v1_ResolvedCozyModel__Output } from '../../scheduler/v1/ResolvedCozyModel.js';
import type { Long } from '@grpc/proto-loader';

export interface TaskExecutionRequest {
  'run_id'?: (string);
  'function_name'?: (string);
  'input_payload'?: (Buffer | Uint8Array | string);
  'required_variant_refs'?: (string)[];
  'timeout_ms'?: (number | string | Long);
  'owner'?: (string);
  'user_id'?: (string);
  'file_base_url'?: (string);
  'file_token'?: (string);
  'resolved_cozy_models_by_id'?: ({[key: string]: _scheduler_v1_ResolvedCozyModel});
}

export interface TaskExecutionRequest__Output {
  'run_id': (string);
  'function_name': (string);
  'input_payload': (Buffer);
  'required_variant_refs': (string)[];
  'timeout_ms': (number);
  'owner': (string);
  'user_id': (string);
  'file_base_url': (string);
  'file_token': (string);
  'resolved_cozy_models_by_id': ({[key: string]: _scheduler_v1_ResolvedCozyModel__Output});
}
