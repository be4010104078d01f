// Original file: proto/worker_scheduler.proto


export interface RealtimeFrame {
  'session_id'?: (string);
  'data'?: (Buffer | Uint8Array | string);
  'is_text'?: (boolean);
}

export interface RealtimeFrame__Output {
  'session_id': (string);
  'data': (Buffer);
  'is_text': (boolean);
}
