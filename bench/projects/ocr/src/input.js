// Shared by the endpoint and bench/direct-ocr.mjs, so both run the same work per request.

/** A deterministic image in [0, 1) (mulberry32), channel-major, `size`×`size`. */
export function detInput(size, seed) {
  let a = seed;
  const data = new Float32Array(3 * size * size);
  for (let i = 0; i < data.length; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    data[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return data;
}

/** Pixels of the probability map above 0.3, the detector's usual threshold. */
export function textPixels(map) {
  let count = 0;
  for (const p of map) if (p > 0.3) count++;
  return count;
}
