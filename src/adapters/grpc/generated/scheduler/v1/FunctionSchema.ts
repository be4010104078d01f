// Original file: proto/worker_scheduler.proto


export interface FunctionSchema {
  'name'?: (string);
  'input_schema_json'?: (Buffer | Uint8Array | string);
  'output_schema_json'?: (Buffer | Uint8Array | string);
  'injection_json'?: (Buffer | Uint8Array | string);
  'incremental_output'?: (boolean);
  'delta_schema_json'?: (Buffer | Uint8Array | string);
}

export interface FunctionSchema__Output {
  'name': (string);
  'input_schema_json': (Buffer);
  'output_schema_json': (Buffer);
  'injection_json': (Buffer);
  'incremental_output': (boolean);
  'delta_schema_json': (Buffer);
}
