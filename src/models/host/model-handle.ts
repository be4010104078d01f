import { join } from "node:path";
import type { InferenceSession } from "onnxruntime-node";
import type { Model, PayloadModel } from "../../contract/handler-api.js";
import { normalizeRelativePath, UnsafePathError } from "../../util/relative-path.js";

/**
 * The primary graph of a model, the one `Model.session` holds: the only graph; else the one whose base
 * name is `model` (`onnx/model`) when exactly one is; else the first by sorted graph name.
 */
export function primaryGraph(graphs: readonly string[]): string {
  const sorted = [...graphs].sort();
  if (sorted.length === 1) return sorted[0] as string;
  const named = sorted.filter((graph) => graph === "model" || graph.endsWith("/model"));
  if (named.length === 1) return named[0] as string;
  const first = sorted[0];
  if (first === undefined) throw new Error("a model without graphs has no primary session");
  return first;
}

export interface ModelHandleInput {
  key: string;
  ref: string;
  path: string;
  sessions: Readonly<Record<string, InferenceSession>>;
  /** Set for a `PayloadModel`. */
  field?: string;
}

/** The object a handler receives for a `Model<"key">` (or, with `field`, a `PayloadModel<"field">`). */
export function modelHandle(input: ModelHandleInput): Model | PayloadModel {
  const session = input.sessions[primaryGraph(Object.keys(input.sessions))] as InferenceSession;
  const handle: Model = Object.freeze({
    key: input.key,
    ref: input.ref,
    path: input.path,
    session,
    sessions: input.sessions,
    file(relativePath: string): string {
      try {
        return join(input.path, ...normalizeRelativePath(relativePath).split("/"));
      } catch (error) {
        if (!(error instanceof UnsafePathError)) throw error;
        throw new RangeError(
          `${input.key}.file(${JSON.stringify(relativePath)}): ${error.message.split(":")[0]}; give a path inside the model folder, such as "config.json"`,
        );
      }
    },
  });
  return input.field === undefined ? handle : Object.freeze({ ...handle, field: input.field });
}
