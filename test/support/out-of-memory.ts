import type { InferenceSession } from "onnxruntime-node";
import { SessionCreateError } from "../../src/models/sessions/execution-providers.js";
import type { SessionFactory } from "../../src/models/sessions/session-factory.js";

/** What ONNX Runtime 1.29's CUDA provider says when a session's creation runs out of device memory. */
export const ORT_CREATE_OOM =
  "Exception during initialization: /onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:129 std::conditional_t<THRW, void, onnxruntime::common::Status> onnxruntime::CudaCall(ERRTYPE, const char*, const char*, SUCCTYPE, const char*, const char*, int) [with ERRTYPE = cudaError; bool THRW = true; SUCCTYPE = cudaError; std::conditional_t<THRW, void, common::Status> = void] CUDA failure 2: out of memory ; GPU=0 ; hostname=worker ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_allocator.cc ; line=47 ; expr=cudaMalloc((void**)&p, size);";

/** What a run says when the BFC arena cannot grow (CPU or CUDA). */
export const ORT_RUN_OOM =
  "Non-zero status code returned while running MatMul node. Name:'matmul' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:359 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 1073741824";

/**
 * Real sessions from `base`, with out-of-memory failures injected: the next `failCreates` creations
 * fail as `createSession` reports ONNX Runtime's error (a CUDA out-of-memory, which it does not fall
 * back to the CPU on), and the next `failRuns` runs (of any session it made) reject with ONNX
 * Runtime's own error text.
 */
export class InjectedOutOfMemory {
  failCreates = 0;
  failRuns = 0;
  readonly created: string[] = [];

  constructor(private readonly base: SessionFactory) {}

  readonly factory: SessionFactory = async (path, spec) => {
    if (this.failCreates > 0) {
      this.failCreates -= 1;
      throw new SessionCreateError(path, [{ provider: "cuda", reason: ORT_CREATE_OOM }]);
    }
    const session = await this.base(path, spec);
    this.created.push(path);
    return this.withRunHook(session);
  };

  private withRunHook(session: InferenceSession): InferenceSession {
    const injected = this;
    return new Proxy(session, {
      get(target, property) {
        if (property === "run") {
          return (...args: unknown[]) => {
            if (injected.failRuns > 0) {
              injected.failRuns -= 1;
              return Promise.reject(new Error(ORT_RUN_OOM));
            }
            return (target.run as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }
}
