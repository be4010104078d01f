// Original file: proto/worker_scheduler.proto

import type { ResolvedCozyModelFile as _scheduler_v1_ResolvedCozyModelFile, ResolvedCozyModelFile__Output as _scheduler_v1_ResolvedCozyModelFile__Output } from '../../scheduler/v1/ResolvedCozyModelFile.js';

export interface ResolvedCozyModel {
  'snapshot_digest'?: (string);
  'files'?: (_scheduler_v1_ResolvedCozyModelFile)[];
}

export interface ResolvedCozyModel__Output {
  'snapshot_digest': (string);
  'files': (_scheduler_v1_ResolvedCozyModelFile__Output)[];
}
