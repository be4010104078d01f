// Original file: proto/frontend.proto

import type { ActionOptions as _frontend_v1_ActionOptions, ActionOptions__Output as _frontend_v1_ActionOptions__Output } from '../../frontend/v1/ActionOptions.js';
import type { VariantPreferences as _frontend_v1_VariantPreferences, VariantPreferences__Output as _frontend_v1_VariantPreferences__Output } from '../../frontend/v1/VariantPreferences.js';

export interface ExecuteActionRequest {
  'function_name'?: (string);
  'input_payload'?: (Buffer | Uint8Array | string);
  'options'?: (_frontend_v1_ActionOptions | null);
  'release_id'?: (string);
  'user_id'?: (string);
  'required_repo_refs'?: (string)[];
  'owner'?: (string);
  'variant_prefs'?: (_frontend_v1_VariantPreferences | null);
}

export interface ExecuteActionRequest__Output {
  'function_name': (string);
  'input_payload': (Buffer);
  'options': (_frontend_v1_ActionOptions__Output | null);
  'release_id': (string);
  'user_id': (string);
  'required_repo_refs': (string)[];
  'owner': (string);
  'variant_prefs': (_frontend_v1_VariantPreferences__Output | null);
}
