/** Deterministic values in [0, 1), 3×48×192 of them: a synthetic text line for the classifier. */
export function lineImage(seed: number): Float32Array {
  const data = new Float32Array(3 * 48 * 192);
  let state = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = state / 2 ** 32;
  }
  return data;
}
