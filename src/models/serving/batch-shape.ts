import type { InferenceSession, Tensor } from "onnxruntime-node";

/** Whether a session's calls can be batched, from its graph's input and output metadata. */
export type Batchability = { batchable: true } | { batchable: false; reason: string };

type Described = Pick<InferenceSession, "inputNames" | "inputMetadata" | "outputMetadata">;

/**
 * A graph can batch when every input and every output is a numeric tensor whose first dimension is
 * symbolic (a name such as `batch` or `p2o.DynamicDimension.0`, not a number): that dimension is the
 * one calls are concatenated along. Output symbols need not match input symbols (exporters name them
 * independently); each batched call checks that every output's first dimension came back as the sum
 * of the calls' and runs its calls alone otherwise.
 */
export function batchability(session: Described): Batchability {
  for (const [kind, list] of [
    ["input", session.inputMetadata],
    ["output", session.outputMetadata],
  ] as const) {
    for (const value of list) {
      if (!value.isTensor) return no(`its ${kind} '${value.name}' is not a tensor`);
      if (value.type === "string") return no(`its ${kind} '${value.name}' is a string tensor`);
      if (value.shape.length === 0) {
        return no(`its ${kind} '${value.name}' is a scalar or has no shape in the graph`);
      }
      const first = value.shape[0];
      if (typeof first !== "string") {
        return no(
          `the first dimension of its ${kind} '${value.name}' is fixed at ${String(first)}, not a symbolic (batch) dimension`,
        );
      }
    }
  }
  if (session.inputNames.length === 0) return no("it has no inputs");
  return { batchable: true };
}

function no(reason: string): Batchability {
  return { batchable: false, reason };
}

/** What a call's feeds say about batching: the key of the calls it can join, and its rows. */
export type CallShape = { key: string; rows: number } | { alone: string };

/**
 * Checks a call's feeds against the graph's inputs: exactly the graph's inputs, each a CPU tensor of
 * the input's type and rank, fixed dimensions as the graph says, every input with the same first
 * dimension (its rows). Calls with the same key (types and every dimension but the first) can be
 * concatenated. Anything else runs alone, so that ONNX Runtime's own error, if any, reaches only the
 * call that caused it.
 */
export function callShape(feeds: unknown, session: Described): CallShape {
  if (feeds === null || typeof feeds !== "object") return { alone: "the feeds are not an object" };
  const record = feeds as Record<string, unknown>;
  const names = Object.keys(record);
  if (names.length !== session.inputNames.length) {
    return { alone: "the feeds do not name exactly the graph's inputs" };
  }
  const parts: string[] = [];
  let rows: number | undefined;
  for (const meta of session.inputMetadata) {
    const tensor = record[meta.name];
    if (!isCpuTensor(tensor)) return { alone: `input '${meta.name}' is not a CPU tensor` };
    if (!meta.isTensor || tensor.type !== meta.type) {
      return { alone: `input '${meta.name}' is not of the graph's type` };
    }
    const dims = tensor.dims;
    if (dims.length !== meta.shape.length || dims.length === 0) {
      return { alone: `input '${meta.name}' does not have the graph's rank` };
    }
    for (const [axis, expected] of meta.shape.entries()) {
      if (typeof expected === "number" && dims[axis] !== expected) {
        return { alone: `input '${meta.name}' does not match the graph's fixed dimensions` };
      }
    }
    const first = dims[0] as number;
    if (!Number.isInteger(first) || first < 1 || (rows !== undefined && first !== rows)) {
      return { alone: "the inputs do not share one first dimension of at least 1" };
    }
    if (length(tensor.data) !== dims.reduce((a, b) => a * b, 1)) {
      return { alone: `input '${meta.name}' holds a different number of values than its dimensions say` };
    }
    rows = first;
    parts.push(`${meta.name}:${tensor.type}:${dims.slice(1).join("x")}`);
  }
  return rows === undefined ? { alone: "no inputs" } : { key: parts.join("|"), rows };
}

function isCpuTensor(value: unknown): value is Tensor {
  if (value === null || typeof value !== "object") return false;
  const tensor = value as Partial<Tensor>;
  return (
    Array.isArray(tensor.dims) &&
    typeof tensor.type === "string" &&
    (tensor.location === undefined || tensor.location === "cpu") &&
    ArrayBuffer.isView(tensor.data)
  );
}

function length(data: unknown): number {
  return (data as { length: number }).length;
}
