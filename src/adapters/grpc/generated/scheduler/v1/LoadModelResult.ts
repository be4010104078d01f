// Original file: proto/worker_scheduler.proto


export interface LoadModelResult {
  'model_id'?: (string);
  'success'?: (boolean);
  'error_message'?: (string);
}

export interface LoadModelResult__Output {
  'model_id': (string);
  'success': (boolean);
  'error_message': (string);
}
