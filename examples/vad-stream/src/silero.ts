import { type Model, Tensor } from "gen-worker";

/** Silero VAD's sample rate and window: one probability per 32 ms. */
export const RATE = 16_000;
export const WINDOW = 512;

/**
 * Silero VAD over a stream, one window at a time, carrying the recurrent state from window to window
 * as examples/vad does: v5 keeps one `state` tensor, the legacy graph `h` and `c`.
 */
export class SileroStream {
  private readonly v5: boolean;
  private state: Record<string, Tensor>;
  private readonly sr = new Tensor("int64", BigInt64Array.from([BigInt(RATE)]), []);
  private pending: number[] = [];

  constructor(private readonly vad: Model<"vad">) {
    this.v5 = vad.session.inputNames.includes("state");
    this.state = this.v5 ? { state: zeros([2, 1, 128]) } : { h: zeros([2, 1, 64]), c: zeros([2, 1, 64]) };
  }

  /** Adds 16 kHz samples; returns the speech probability of each window they complete. */
  async push(samples: Float32Array, beforeEachWindow: () => void = () => {}): Promise<number[]> {
    for (const sample of samples) this.pending.push(sample);
    const probabilities: number[] = [];
    while (this.pending.length >= WINDOW) {
      beforeEachWindow();
      const window = Float32Array.from(this.pending.splice(0, WINDOW));
      const input = new Tensor("float32", window, [1, WINDOW]);
      const out = await this.vad.session.run({ input, sr: this.sr, ...this.state });
      probabilities.push(Number((out.output as Tensor).data[0]));
      this.state = this.v5 ? { state: out.stateN as Tensor } : { h: out.hn as Tensor, c: out.cn as Tensor };
    }
    return probabilities;
  }
}

function zeros(dims: number[]): Tensor {
  return new Tensor("float32", new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
}
