import { RATE, WINDOW } from "./silero.js";

export interface SpeechSegment {
  /** Start, in seconds from the beginning of the stream. */
  start_s: number;
  /** End, in seconds from the beginning of the stream. */
  end_s: number;
}

export interface SegmentRules {
  /** Probability from which a window counts as speech. */
  threshold: number;
  /** Pauses shorter than this many windows do not split a segment. */
  minSilenceWindows: number;
  /** Segments shorter than this many windows are dropped. */
  minSpeechWindows: number;
}

/**
 * examples/vad's segmentation, one window at a time: speech starts at the threshold and ends below
 * a lower one, so a wavering window does not split a segment (the hysteresis Silero's own helpers
 * use). A segment is known once the silence after it is long enough.
 */
export class Segmenter {
  private readonly off: number;
  private start: number | undefined;
  private silentSince: number | undefined;
  private window = 0;

  constructor(private readonly rules: SegmentRules) {
    this.off = Math.max(rules.threshold - 0.15, 0.01);
  }

  /** The next window's speech probability; returns the segment it ends, if any. */
  push(probability: number): SpeechSegment | undefined {
    const w = this.window++;
    if (probability >= this.rules.threshold) {
      this.start ??= w;
      this.silentSince = undefined;
    } else if (this.start !== undefined && probability < this.off) {
      this.silentSince ??= w;
      if (w + 1 - this.silentSince >= this.rules.minSilenceWindows) return this.close(this.silentSince);
    }
    return undefined;
  }

  /** At the end of the stream: the segment still open, if it is long enough. */
  finish(): SpeechSegment | undefined {
    return this.close(this.silentSince ?? this.window);
  }

  private close(end: number): SpeechSegment | undefined {
    const start = this.start;
    this.start = undefined;
    this.silentSince = undefined;
    if (start === undefined || end - start < this.rules.minSpeechWindows) return undefined;
    return { start_s: round((start * WINDOW) / RATE), end_s: round((end * WINDOW) / RATE) };
  }
}

export function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
