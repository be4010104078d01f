// Original file: proto/frontend.proto

import type { Long } from '@grpc/proto-loader';

export interface ActionOptions {
  'id'?: (string);
  'timeout_ms'?: (number | string | Long);
}

export interface ActionOptions__Output {
  'id': (string);
  'timeout_ms': (number);
}
