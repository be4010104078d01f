// Original file: proto/worker_scheduler.proto


export interface WorkerEvent {
  'run_id'?: (string);
  'event_type'?: (string);
  'payload_json'?: (Buffer | Uint8Array | string);
}

export interface WorkerEvent__Output {
  'run_id': (string);
  'event_type': (string);
  'payload_json': (Buffer);
}
