// Original file: proto/worker_scheduler.proto

import type { WorkerResources as _scheduler_v1_WorkerResources, WorkerResources__Output as _scheduler_v1_WorkerResources__Output } from '../../scheduler/v1/WorkerResources.js';

export interface WorkerRegistration {
  'resources'?: (_scheduler_v1_WorkerResources | null);
  'is_heartbeat'?: (boolean);
}

export interface WorkerRegistration__Output {
  'resources': (_scheduler_v1_WorkerResources__Output | null);
  'is_heartbeat': (boolean);
}
