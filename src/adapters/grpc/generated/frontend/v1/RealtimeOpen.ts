// Original file: proto/frontend.proto

import type { Long } from '@grpc/proto-loader';

export interface RealtimeOpen {
  'session_id'?: (string);
  'release_id'?: (string);
  'function_name'?: (string);
  'owner'?: (string);
  'user_id'?: (string);
  'timeout_ms'?: (number | string | Long);
}

export interface RealtimeOpen__Output {
  'session_id': (string);
  'release_id': (string);
  'function_name': (string);
  'owner': (string);
  'user_id': (string);
  'timeout_ms': (number);
}
