// Original file: proto/worker_scheduler.proto


export interface RealtimeCloseCommand {
  'session_id'?: (string);
  'reason'?: (string);
}

export interface RealtimeCloseCommand__Output {
  'session_id': (string);
  'reason': (string);
}
