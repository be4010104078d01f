import { writeFile } from "node:fs/promises";

/**
 * A hand-encoded ONNX model small enough to build in a test (onnxruntime-notes §9.1):
 * `Y[N,3] = Relu(MatMul(X[N,4], W[4,3]) + B[3])`, IR version 8, default-domain opset 13.
 * Only the ModelProto / GraphProto / NodeProto / TensorProto / ValueInfoProto fields the model
 * needs are written, in protobuf wire format.
 */

/** Row-major 4×3 weights. */
export const TINY_W: readonly number[] = [0.5, -1, 0.25, 1, 0.5, -0.5, -0.25, 1, 2, 0.75, -2, 1];
export const TINY_B: readonly number[] = [0.1, -0.2, 0.3];
export const TINY_INPUT = "X";
export const TINY_OUTPUT = "Y";
export const TINY_IN_FEATURES = 4;
export const TINY_OUT_FEATURES = 3;

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const TENSOR_FLOAT = 1;

function varint(value: number): Uint8Array {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    out.push(byte);
  } while (rest > 0);
  return Uint8Array.from(out);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

const tag = (field: number, wire: number) => varint(field * 8 + wire);
const intField = (field: number, value: number) => concat([tag(field, WIRE_VARINT), varint(value)]);
const lenField = (field: number, payload: Uint8Array) =>
  concat([tag(field, WIRE_LEN), varint(payload.length), payload]);
const strField = (field: number, text: string) => lenField(field, Buffer.from(text, "utf8"));
const msgField = (field: number, ...parts: Uint8Array[]) => lenField(field, concat(parts));

/** TensorShapeProto.Dimension: dim_value (1) or dim_param (2). */
const dimension = (d: number | string) =>
  msgField(1, typeof d === "number" ? intField(1, d) : strField(2, d));

/** ValueInfoProto { name = 1; type = 2 { tensor_type = 1 { elem_type = 1; shape = 2 } } }. */
function valueInfo(field: number, name: string, dims: readonly (number | string)[]): Uint8Array {
  const shape = msgField(2, ...dims.map(dimension));
  return msgField(field, strField(1, name), msgField(2, msgField(1, intField(1, TENSOR_FLOAT), shape)));
}

/** TensorProto { dims = 1; data_type = 2; name = 8; raw_data = 9 } as GraphProto.initializer (5). */
function initializer(name: string, dims: readonly number[], values: readonly number[]): Uint8Array {
  const raw = new Uint8Array(Float32Array.from(values).buffer);
  return msgField(
    5,
    ...dims.map((d) => intField(1, d)),
    intField(2, TENSOR_FLOAT),
    strField(8, name),
    lenField(9, raw),
  );
}

/** NodeProto { input = 1; output = 2; name = 3; op_type = 4 } as GraphProto.node (1). */
function node(op: string, inputs: readonly string[], outputs: readonly string[], name: string): Uint8Array {
  return msgField(
    1,
    ...inputs.map((i) => strField(1, i)),
    ...outputs.map((o) => strField(2, o)),
    strField(3, name),
    strField(4, op),
  );
}

/** The model's bytes (237 of them). */
export function tinyModelBytes(): Uint8Array {
  const graph = msgField(
    7,
    node("MatMul", ["X", "W"], ["XW"], "matmul"),
    node("Add", ["XW", "B"], ["XWB"], "add"),
    node("Relu", ["XWB"], ["Y"], "relu"),
    strField(2, "tiny_mlp"),
    initializer("W", [TINY_IN_FEATURES, TINY_OUT_FEATURES], TINY_W),
    initializer("B", [TINY_OUT_FEATURES], TINY_B),
    valueInfo(11, TINY_INPUT, ["N", TINY_IN_FEATURES]),
    valueInfo(12, TINY_OUTPUT, ["N", TINY_OUT_FEATURES]),
  );
  // ModelProto { ir_version = 1; producer_name = 2; graph = 7; opset_import = 8 { domain = 1; version = 2 } }
  return concat([
    intField(1, 8),
    strField(2, "hand-encoded"),
    graph,
    msgField(8, strField(1, ""), intField(2, 13)),
  ]);
}

/** Writes the model to `path` and returns its size in bytes. */
export async function writeTinyModel(path: string): Promise<number> {
  const bytes = tinyModelBytes();
  await writeFile(path, bytes);
  return bytes.length;
}

/**
 * The model's output computed in plain JS, in float32 steps like ONNX Runtime's CPU kernels
 * (results agree to about 1e-6). `x` is row-major `[rows, 4]`; the result is row-major `[rows, 3]`.
 */
export function tinyModelExpected(x: ArrayLike<number>): Float32Array {
  if (x.length % TINY_IN_FEATURES !== 0) {
    throw new Error(`input length ${x.length} is not a multiple of ${TINY_IN_FEATURES}`);
  }
  const rows = x.length / TINY_IN_FEATURES;
  const y = new Float32Array(rows * TINY_OUT_FEATURES);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < TINY_OUT_FEATURES; c++) {
      let sum = 0;
      for (let k = 0; k < TINY_IN_FEATURES; k++) {
        sum += (x[r * TINY_IN_FEATURES + k] ?? 0) * (TINY_W[k * TINY_OUT_FEATURES + c] ?? 0);
      }
      y[r * TINY_OUT_FEATURES + c] = Math.max(0, Math.fround(sum) + (TINY_B[c] ?? 0));
    }
  }
  return y;
}
