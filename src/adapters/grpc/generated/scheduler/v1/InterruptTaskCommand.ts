// Original file: proto/worker_scheduler.proto


export interface InterruptTaskCommand {
  'run_id'?: (string);
}

export interface InterruptTaskCommand__Output {
  'run_id': (string);
}
