// Original file: proto/worker_scheduler.proto

import type { ResolvedCozyModel as _scheduler_v1_ResolvedCozyModel, ResolvedCozyModel__Output as _scheduler_v1_ResolvedCozyModel__Output } from '../../scheduler/v1/ResolvedCozyModel.js';

export interface CozyModelURLRefreshResponse {
  'model_id'?: (string);
  'resolved'?: (_scheduler_v1_ResolvedCozyModel | null);
}

export interface CozyModelURLRefreshResponse__Output {
  'model_id': (string);
  'resolved': (_scheduler_v1_ResolvedCozyModel__Output | null);
}
