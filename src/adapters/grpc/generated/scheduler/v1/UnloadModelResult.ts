// Original file: proto/worker_scheduler.proto


export interface UnloadModelResult {
  'model_id'?: (string);
  'success'?: (boolean);
  'error_message'?: (string);
}

export interface UnloadModelResult__Output {
  'model_id': (string);
  'success': (boolean);
  'error_message': (string);
}
