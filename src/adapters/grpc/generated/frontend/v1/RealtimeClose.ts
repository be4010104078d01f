// Original file: proto/frontend.proto


export interface RealtimeClose {
  'session_id'?: (string);
  'reason'?: (string);
}

export interface RealtimeClose__Output {
  'session_id': (string);
  'reason': (string);
}
