// Original file: proto/worker_scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface RealtimeOpenCommand {
  'session_id'?: (string);
  'function_name'?: (string);
  'required_variant_refs'?: (string)[];
  'owner'?: (string);
  'user_id'?: (string);
  'timeout_ms'?: (number | string | Long);
  'file_base_url'?: (string);
  'file_token'?: (string);
}

export interface RealtimeOpenCommand__Output {
  'session_id': (string);
  'function_name': (string);
  'required_variant_refs': (string)[];
  'owner': (string);
  'user_id': (string);
  'timeout_ms': (number);
  'file_base_url': (string);
  'file_token': (string);
}
