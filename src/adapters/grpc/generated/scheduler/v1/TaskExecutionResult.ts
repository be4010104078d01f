// Original file: proto/worker_scheduler.proto


export interface TaskExecutionResult {
  'run_id'?: (string);
  'success'?: (boolean);
  'output_payload'?: (Buffer | Uint8Array | string);
  'error_message'?: (string);
  'error_type'?: (string);
  'retryable'?: (boolean);
  'safe_message'?: (string);
}

export interface TaskExecutionResult__Output {
  'run_id': (string);
  'success': (boolean);
  'output_payload': (Buffer);
  'error_message': (string);
  'error_type': (string);
  'retryable': (boolean);
  'safe_message': (string);
}
