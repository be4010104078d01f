/**
 * How ONNX Runtime says that memory ran out, on the device or on the host: the CUDA allocator's
 * "CUDA failure 2: out of memory", the BFC arena's "Failed to allocate memory for requested buffer",
 * cuDNN and cuBLAS allocation statuses, and C++'s bad_alloc for host memory.
 */
const OUT_OF_MEMORY =
  /out of memory|failed to allocate|OutOfMemory|bad_alloc|CUDA_ERROR_OUT_OF_MEMORY|CUDNN_STATUS_ALLOC_FAILED|CUBLAS_STATUS_ALLOC_FAILED/i;

/** Whether `error` (an ONNX Runtime error, or its message) says that memory ran out. */
export function isOutOfMemory(error: unknown): boolean {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return OUT_OF_MEMORY.test(message);
}
