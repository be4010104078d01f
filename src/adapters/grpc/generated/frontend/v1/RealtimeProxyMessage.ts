// Original file: proto/frontend.proto

import type { RealtimeOpen as _frontend_v1_RealtimeOpen, RealtimeOpen__Output as _frontend_v1_RealtimeOpen__Output } from '../../frontend/v1/RealtimeOpen.js';
import type { RealtimeFrame as _frontend_v1_RealtimeFrame, RealtimeFrame__Output as _frontend_v1_RealtimeFrame__Output } from '../../frontend/v1/RealtimeFrame.js';
import type { RealtimeClose as _frontend_v1_RealtimeClose, RealtimeClose__Output as _frontend_v1_RealtimeClose__Output } from '../../frontend/v1/RealtimeClose.js';

export interface RealtimeProxyMessage {
  'open'?: (_frontend_v1_RealtimeOpen | null);
  'frame'?: (_frontend_v1_RealtimeFrame | null);
  'close'?: (_frontend_v1_RealtimeClose | null);
  'msg'?: "open"|"frame"|"close";
}

export interface RealtimeProxyMessage__Output {
  'open'?: (_frontend_v1_RealtimeOpen__Output | null);
  'frame'?: (_frontend_v1_RealtimeFrame__Output | null);
  'close'?: (_frontend_v1_RealtimeClose__Output | null);
  'msg'?: "open"|"frame"|"close";
}
