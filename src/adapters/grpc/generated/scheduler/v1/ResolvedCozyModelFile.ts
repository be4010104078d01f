// Original file: proto/worker_scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface ResolvedCozyModelFile {
  'path'?: (string);
  'size_bytes'?: (number | string | Long);
  'blake3'?: (string);
  'url'?: (string);
}

export interface ResolvedCozyModelFile__Output {
  'path': (string);
  'size_bytes': (number);
  'blake3': (string);
  'url': (string);
}
