// Original file: proto/worker_scheduler.proto


export interface CozyModelURLRefreshRequest {
  'model_id'?: (string);
}

export interface CozyModelURLRefreshRequest__Output {
  'model_id': (string);
}
