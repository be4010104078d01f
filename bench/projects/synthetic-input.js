// Deterministic synthetic inputs, shared by the bench projects' endpoints (ocr, serving) and
// bench/direct-ocr.mjs, so that every path runs the same work per request.

/** mulberry32: numbers in [0, 1) from an integer seed. */
function random(seed) {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 3×size×size image in [0, 1), channel-major: the detector's input. mulberry32 as in {@link random},
 * written inline: this is per-request work, and the closure is slower.
 */
export function detInput(size, seed) {
  let a = seed | 0;
  const data = new Float32Array(3 * size * size);
  for (let i = 0; i < data.length; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    data[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return data;
}

/** Pixels of the detector's probability map above 0.3, its usual threshold. */
export function textPixels(map) {
  let count = 0;
  for (const p of map) if (p > 0.3) count++;
  return count;
}

// A request's text line is a window of one fixed noise buffer chosen by its seed: distinct per seed,
// and cheap to make, so that the benchmark measures serving rather than a random-number generator.
const LINE = 3 * 48 * 192;
let noise;

/** A 3×48×192 text line in [0, 1), channel-major: the classifier's input. */
export function lineImage(seed) {
  if (noise === undefined) {
    const next = random(1);
    noise = new Float32Array(2 * LINE);
    for (let i = 0; i < noise.length; i++) noise[i] = next();
  }
  const offset = (Math.abs(seed | 0) * 7919) % LINE;
  return noise.slice(offset, offset + LINE);
}
