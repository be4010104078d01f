// Original file: proto/worker_scheduler.proto


export interface UnloadModelCommand {
  'model_id'?: (string);
}

export interface UnloadModelCommand__Output {
  'model_id': (string);
}
