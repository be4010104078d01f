// Original file: proto/worker_scheduler.proto


export interface LoadModelCommand {
  'model_id'?: (string);
}

export interface LoadModelCommand__Output {
  'model_id': (string);
}
