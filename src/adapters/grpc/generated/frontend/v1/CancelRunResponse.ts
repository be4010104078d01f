// Original file: proto/frontend.proto


export interface CancelRunResponse {
  'ok'?: (boolean);
}

export interface CancelRunResponse__Output {
  'ok': (boolean);
}
