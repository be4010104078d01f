import { type InferenceSession, Tensor } from "onnxruntime-node";

type Feeds = Readonly<Record<string, Tensor>>;
type TypedArray = Exclude<Tensor["data"], string[]>;
type TypedArrayConstructor = new (length: number) => TypedArray;

/**
 * The calls' feeds concatenated along the first dimension, in call order. The calls share their
 * input names, types and every dimension but the first (src/models/serving/batch-shape.ts checked).
 */
export function concatFeeds(calls: readonly Feeds[]): Record<string, Tensor> {
  const first = calls[0];
  if (first === undefined) throw new RangeError("no calls to concatenate");
  const feeds: Record<string, Tensor> = {};
  for (const [name, sample] of Object.entries(first)) {
    const parts = calls.map((call) => call[name] as Tensor);
    const rows = parts.reduce((sum, part) => sum + (part.dims[0] as number), 0);
    const data = new ((sample.data as TypedArray).constructor as TypedArrayConstructor)(
      parts.reduce((sum, part) => sum + (part.data as TypedArray).length, 0),
    );
    let offset = 0;
    for (const part of parts) {
      const values = part.data as TypedArray;
      (data as { set(values: ArrayLike<unknown>, offset: number): void }).set(values, offset);
      offset += values.length;
    }
    feeds[name] = new Tensor(sample.type, data as Tensor.DataType, [rows, ...sample.dims.slice(1)]);
  }
  return feeds;
}

/**
 * A batched call's outputs cut back into one result per call, `rows[i]` rows each, every output's
 * values copied so that no caller holds a view of another's. Undefined when an output cannot be
 * cut: not a CPU tensor, or its first dimension is not the sum of the rows (a graph whose outputs
 * are not batch-major).
 */
export function splitOutputs(
  outputs: InferenceSession.ReturnType,
  rows: readonly number[],
): InferenceSession.ReturnType[] | undefined {
  const total = rows.reduce((sum, n) => sum + n, 0);
  const results: Record<string, Tensor>[] = rows.map(() => ({}));
  for (const [name, value] of Object.entries(outputs)) {
    const tensor = value as Tensor;
    if (!(tensor instanceof Tensor) || tensor.location !== "cpu" || tensor.dims[0] !== total)
      return undefined;
    const data = tensor.data;
    if (!ArrayBuffer.isView(data)) return undefined;
    const perRow = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
    if ((data as TypedArray).length !== total * perRow) return undefined;
    let start = 0;
    for (const [index, n] of rows.entries()) {
      const slice = (data as TypedArray).slice(start * perRow, (start + n) * perRow);
      (results[index] as Record<string, Tensor>)[name] = new Tensor(tensor.type, slice as Tensor.DataType, [
        n,
        ...tensor.dims.slice(1),
      ]);
      start += n;
    }
  }
  return results;
}
