// Original file: proto/worker_scheduler.proto

import type { ResolvedCozyModel as _scheduler_v1_ResolvedCozyModel, ResolvedCozyModel__Output as _scheduler_v1_ResolvedCozyModel__Output } from '../../scheduler/v1/ResolvedCozyModel.js';

export interface DeploymentArtifactConfig {
  'supported_repo_refs'?: (string)[];
  'repo_ref_by_key'?: ({[key: string]: string});
  'resolved_cozy_models_by_variant_ref'?: ({[key: string]: _scheduler_v1_ResolvedCozyModel});
  'required_variant_refs'?: (string)[];
}

export interface DeploymentArtifactConfig__Output {
  'supported_repo_refs': (string)[];
  'repo_ref_by_key': ({[key: string]: string});
  'resolved_cozy_models_by_variant_ref': ({[key: string]: _scheduler_v1_ResolvedCozyModel__Output});
  'required_variant_refs': (string)[];
}
