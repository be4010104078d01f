// Original file: proto/frontend.proto


export interface ExecuteActionResponse {
  'run_id'?: (string);
}

export interface ExecuteActionResponse__Output {
  'run_id': (string);
}
