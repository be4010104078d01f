import { type ActionContext, type Asset, type Model, Tensor } from "gen-worker";
import { decodeWav, resample } from "./wav.js";

const RATE = 16_000;
const WINDOW = 512;

export interface DetectSpeechInput {
  /** A WAV recording: 16-bit PCM or 32-bit float, any sample rate, mono or stereo. */
  audio: Asset;
  /** Probability from which a window counts as speech. @minimum 0.05 @maximum 0.95 @default 0.5 */
  threshold?: number;
  /** Pauses shorter than this do not split a segment. @integer @minimum 0 @maximum 10000 @default 100 */
  minSilenceMs?: number;
  /** Segments shorter than this are dropped. @integer @minimum 0 @maximum 10000 @default 250 */
  minSpeechMs?: number;
}

export interface SpeechSegment {
  /** Start, in seconds from the beginning of the recording. */
  start_s: number;
  /** End, in seconds from the beginning of the recording. */
  end_s: number;
}

export interface DetectSpeechOutput {
  duration_s: number;
  segments: SpeechSegment[];
  /** Share of the recording that is speech, from 0 to 1. */
  speech_ratio: number;
}

/** Find the stretches of speech in a WAV recording with Silero VAD. @maxConcurrency 4 */
export async function detectSpeech(
  ctx: ActionContext,
  input: DetectSpeechInput,
  vad: Model<"vad">,
): Promise<DetectSpeechOutput> {
  const audio = decodeWav(await input.audio.readBytes(64 * 1024 * 1024));
  const samples = resample(audio.samples, audio.sampleRate, RATE);
  const probabilities = await speechProbabilities(ctx, vad, samples);
  const segments = toSegments(probabilities, {
    threshold: input.threshold ?? 0.5,
    minSilenceWindows: Math.ceil(((input.minSilenceMs ?? 100) * RATE) / 1000 / WINDOW),
    minSpeechWindows: Math.ceil(((input.minSpeechMs ?? 250) * RATE) / 1000 / WINDOW),
  });
  const duration = samples.length / RATE;
  const speech = segments.reduce((sum, s) => sum + (s.end_s - s.start_s), 0);
  return { duration_s: round(duration), segments, speech_ratio: duration > 0 ? round(speech / duration) : 0 };
}

/** One probability per 32 ms window. Silero carries a recurrent state from window to window. */
async function speechProbabilities(
  ctx: ActionContext,
  vad: Model<"vad">,
  samples: Float32Array,
): Promise<number[]> {
  const session = vad.session;
  // Silero v5 keeps one `state` tensor; the legacy graph keeps `h` and `c`.
  const v5 = session.inputNames.includes("state");
  let state: Record<string, Tensor> = v5
    ? { state: zeros([2, 1, 128]) }
    : { h: zeros([2, 1, 64]), c: zeros([2, 1, 64]) };
  const sr = new Tensor("int64", BigInt64Array.from([BigInt(RATE)]), []);
  const windows = Math.floor(samples.length / WINDOW);
  const probabilities: number[] = [];
  for (let w = 0; w < windows; w++) {
    ctx.throwIfCanceled();
    const chunk = samples.subarray(w * WINDOW, (w + 1) * WINDOW);
    const out = await session.run({ input: new Tensor("float32", chunk.slice(), [1, WINDOW]), sr, ...state });
    probabilities.push(Number((out.output as Tensor).data[0]));
    state = v5 ? { state: out.stateN as Tensor } : { h: out.hn as Tensor, c: out.cn as Tensor };
    if (w % 50 === 49) ctx.progress((w + 1) / windows, "detecting");
  }
  return probabilities;
}

function toSegments(
  probabilities: number[],
  rules: { threshold: number; minSilenceWindows: number; minSpeechWindows: number },
): SpeechSegment[] {
  // Speech starts at the threshold and ends below a lower one, so a wavering window does not
  // split a segment (the hysteresis Silero's own helpers use).
  const off = Math.max(rules.threshold - 0.15, 0.01);
  const segments: SpeechSegment[] = [];
  let start: number | undefined;
  let silentSince: number | undefined;
  const close = (end: number) => {
    if (start !== undefined && end - start >= rules.minSpeechWindows)
      segments.push({ start_s: round((start * WINDOW) / RATE), end_s: round((end * WINDOW) / RATE) });
    start = undefined;
    silentSince = undefined;
  };
  probabilities.forEach((p, w) => {
    if (p >= rules.threshold) {
      start ??= w;
      silentSince = undefined;
    } else if (start !== undefined && p < off) {
      silentSince ??= w;
      if (w + 1 - silentSince >= rules.minSilenceWindows) close(silentSince);
    }
  });
  close(silentSince ?? probabilities.length);
  return segments;
}

function zeros(dims: number[]): Tensor {
  return new Tensor("float32", new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
