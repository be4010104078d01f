/**
 * Linear-interpolation resampling of a stream, sample for sample the same as examples/vad's
 * `resample` over the whole recording: output i is the source at position i·from/to, interpolated
 * between its two neighbours. An output sample waits until its right neighbour has arrived; at the
 * end, a missing neighbour counts as 0.
 */
export class Resampler {
  /** Source samples from global index `offset` on (older ones are no longer needed). */
  private source: number[] = [];
  private offset = 0;
  private received = 0;
  /** The next output index. */
  private next = 0;

  constructor(
    private readonly from: number,
    private readonly to: number,
  ) {}

  /** The output samples the new source samples complete. */
  push(samples: Float32Array): Float32Array {
    if (this.from === this.to) return samples;
    for (const sample of samples) this.source.push(sample);
    this.received += samples.length;
    return this.emit((left) => left + 1 < this.received);
  }

  /** The output samples still owed once the source has ended. */
  finish(): Float32Array {
    if (this.from === this.to) return new Float32Array(0);
    const total = Math.floor((this.received * this.to) / this.from);
    return this.emit(() => this.next < total);
  }

  private emit(ready: (left: number) => boolean): Float32Array {
    const out: number[] = [];
    while (true) {
      const position = (this.next * this.from) / this.to;
      const left = Math.floor(position);
      if (!ready(left) || left >= this.received) break;
      const fraction = position - left;
      const a = this.source[left - this.offset] ?? 0;
      const b = this.source[left + 1 - this.offset] ?? 0;
      out.push(a * (1 - fraction) + b * fraction);
      this.next++;
    }
    const keepFrom = Math.floor((this.next * this.from) / this.to);
    if (keepFrom > this.offset) {
      this.source.splice(0, keepFrom - this.offset);
      this.offset = keepFrom;
    }
    return Float32Array.from(out);
  }
}
