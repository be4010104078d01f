// Original file: proto/worker_scheduler.proto

import type { FunctionSchema as _scheduler_v1_FunctionSchema, FunctionSchema__Output as _scheduler_v1_FunctionSchema__Output } from '../../scheduler/v1/FunctionSchema.js';
import type { Long } from '@grpc/proto-loader';

export interface WorkerResources {
  'worker_id'?: (string);
  'cpu_cores'?: (number);
  'memory_bytes'?: (number | string | Long);
  'gpu_count'?: (number);
  'gpu_memory_bytes'?: (number | string | Long);
  'available_functions'?: (string)[];
  'vram_models'?: (string)[];
  'supports_model_loading'?: (boolean);
  'release_id'?: (string);
  'runpod_pod_id'?: (string);
  'gpu_is_busy'?: (boolean);
  'gpu_memory_used_bytes'?: (number | string | Long);
  'gpu_name'?: (string);
  'gpu_driver'?: (string);
  'gpu_memory_free_bytes'?: (number | string | Long);
  'max_concurrency'?: (number);
  'function_concurrency'?: ({[key: string]: number});
  'cuda_version'?: (string);
  'torch_version'?: (string);
  'function_schemas'?: (_scheduler_v1_FunctionSchema)[];
  'gpu_sm'?: (string);
  'tensorrt_version'?: (string);
  'onnxruntime_version'?: (string);
  'disk_models'?: (string)[];
  'installed_libs'?: (string)[];
}

export interface WorkerResources__Output {
  'worker_id': (string);
  'cpu_cores': (number);
  'memory_bytes': (number);
  'gpu_count': (number);
  'gpu_memory_bytes': (number);
  'available_functions': (string)[];
  'vram_models': (string)[];
  'supports_model_loading': (boolean);
  'release_id': (string);
  'runpod_pod_id': (string);
  'gpu_is_busy': (boolean);
  'gpu_memory_used_bytes': (number);
  'gpu_name': (string);
  'gpu_driver': (string);
  'gpu_memory_free_bytes': (number);
  'max_concurrency': (number);
  'function_concurrency': ({[key: string]: number});
  'cuda_version': (string);
  'torch_version': (string);
  'function_schemas': (_scheduler_v1_FunctionSchema__Output)[];
  'gpu_sm': (string);
  'tensorrt_version': (string);
  'onnxruntime_version': (string);
  'disk_models': (string)[];
  'installed_libs': (string)[];
}
