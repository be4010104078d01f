// Deterministic synthetic inputs, shared by the endpoints and the bench drivers. A request's text line
// is a window of one fixed noise buffer chosen by its seed: distinct per seed, and cheap to make, so
// that the benchmark measures serving rather than a random-number generator.

function random(seed) {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

/** A 3×size×size image in [0, 1), channel-major: the detector's input. */
export function detInput(size, seed) {
  const next = random(seed);
  const data = new Float32Array(3 * size * size);
  for (let i = 0; i < data.length; i++) data[i] = next();
  return data;
}
