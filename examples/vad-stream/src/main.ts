import type { ActionContext, Model, RealtimeSocket } from "gen-worker";
import { Resampler } from "./resampler.js";
import { round, Segmenter, type SpeechSegment } from "./segmenter.js";
import { RATE, SileroStream, WINDOW } from "./silero.js";
import { WavStream } from "./wav-stream.js";

/** What the session sends back, one JSON text frame each. */
export type SpeechMessage =
  /** A stretch of speech, sent as soon as the silence after it is long enough. */
  | ({ type: "segment" } & SpeechSegment)
  /** The end of a WAV stream: every segment again, and the share of the audio that is speech. */
  | { type: "done"; duration_s: number; segments: SpeechSegment[]; speech_ratio: number };

const RULES = {
  threshold: 0.5,
  minSilenceWindows: Math.ceil((100 * RATE) / 1000 / WINDOW),
  minSpeechWindows: Math.ceil((250 * RATE) / 1000 / WINDOW),
};

/**
 * Voice-activity detection on a live audio stream with Silero VAD. Send the audio as binary frames
 * of any size: a WAV file in pieces (16-bit PCM or 32-bit float, any sample rate, mono or stereo;
 * its header first), or raw 16-bit PCM at 16 kHz mono. Each stretch of speech comes back as a JSON
 * text frame `{"type":"segment","start_s":…,"end_s":…}` as soon as it has ended. When the WAV file's
 * data is complete, a `{"type":"done",…}` frame sums the stream up and the session ends; raw PCM
 * ends when the client closes.
 */
export async function streamSpeech(
  ctx: ActionContext,
  socket: RealtimeSocket,
  vad: Model<"vad">,
): Promise<void> {
  const audio = new WavStream();
  const silero = new SileroStream(vad);
  const segmenter = new Segmenter(RULES);
  const segments: SpeechSegment[] = [];
  let resampler: Resampler | undefined;
  let samples = 0;
  const detect = async (input: Float32Array) => {
    samples += input.length;
    for (const probability of await silero.push(input, () => ctx.throwIfCanceled())) {
      const segment = segmenter.push(probability);
      if (segment) {
        segments.push(segment);
        socket.sendJson({ type: "segment", ...segment } satisfies SpeechMessage);
      }
    }
  };
  for await (const frame of socket) {
    const decoded = audio.push(frame);
    resampler ??= audio.format && new Resampler(audio.format.sampleRate, RATE);
    if (resampler) await detect(resampler.push(decoded));
    if (audio.complete) break;
  }
  // The client closed the session: nothing more can reach it.
  if (socket.closed) return;
  if (resampler) await detect(resampler.finish());
  const last = segmenter.finish();
  if (last) {
    segments.push(last);
    socket.sendJson({ type: "segment", ...last } satisfies SpeechMessage);
  }
  const duration = samples / RATE;
  const speech = segments.reduce((sum, s) => sum + (s.end_s - s.start_s), 0);
  socket.sendJson({
    type: "done",
    duration_s: round(duration),
    segments,
    speech_ratio: duration > 0 ? round(speech / duration) : 0,
  } satisfies SpeechMessage);
}
