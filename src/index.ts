/**
 * The public API of gen-worker: everything tenant code imports.
 *
 * Types cost nothing at run time (`import type`). The values are the error classes, from a module
 * with no dependencies, and ONNX Runtime's `Tensor`, from its pure-JavaScript common package (the
 * native runtime loads only when a model does).
 */

/**
 * ONNX Runtime's tensor, to build a session's inputs: `new Tensor("float32", data, [1, 3, 640, 640])`.
 * It is the class the worker's sessions expect, whatever copy of onnxruntime-node the project has.
 */
export { Tensor } from "onnxruntime-common";

export {
  AuthError,
  CanceledError,
  type ErrorType,
  FatalError,
  ResourceError,
  RetryableError,
  ValidationError,
  WorkerError,
} from "./contract/errors.js";
export type {
  ActionContext,
  Asset,
  Integer,
  LogLevel,
  Model,
  PayloadModel,
  RealtimeSocket,
} from "./contract/handler-api.js";
