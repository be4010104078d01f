// Original file: proto/frontend.proto


export interface CancelRunRequest {
  'run_id'?: (string);
}

export interface CancelRunRequest__Output {
  'run_id': (string);
}
