import { ValidationError } from "gen-worker";

/** Mono samples in [-1, 1] and their rate, from a RIFF/WAVE file. */
export interface Audio {
  samples: Float32Array;
  sampleRate: number;
}

/**
 * Decodes 16-bit PCM or 32-bit float WAV; channels are averaged to mono. Anything else is the
 * caller's mistake: a ValidationError that says what the file is.
 */
export function decodeWav(bytes: Uint8Array): Audio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.byteLength < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE")
    throw new ValidationError(
      "the audio is not a WAV file (no RIFF/WAVE header): send 16-bit PCM or float WAV",
    );
  let format: { code: number; channels: number; rate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.byteLength) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.byteLength)
        throw new ValidationError("the WAV file's format chunk is cut short: send a complete WAV file");
      format = {
        code: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      if (!format) throw new ValidationError("the WAV file has its data before its format chunk");
      if (format.channels === 0 || format.rate === 0)
        throw new ValidationError("the WAV file declares no channels or a sample rate of 0");
      const end = Math.min(body + size, bytes.byteLength);
      return { samples: toMono(view, body, end, format), sampleRate: format.rate };
    }
    offset = body + size + (size % 2);
  }
  throw new ValidationError("the WAV file has no data chunk");
}

function toMono(
  view: DataView,
  start: number,
  end: number,
  format: { code: number; channels: number; bits: number },
): Float32Array {
  const pcm16 = format.code === 1 && format.bits === 16;
  const float32 = format.code === 3 && format.bits === 32;
  if (!pcm16 && !float32)
    throw new ValidationError(
      `the WAV file holds ${format.bits}-bit samples of format ${format.code}: send 16-bit PCM or 32-bit float`,
    );
  const width = format.bits / 8;
  const frames = Math.floor((end - start) / (width * format.channels));
  const out = new Float32Array(frames);
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    for (let channel = 0; channel < format.channels; channel++) {
      const at = start + (frame * format.channels + channel) * width;
      sum += pcm16 ? view.getInt16(at, true) / 32768 : view.getFloat32(at, true);
    }
    out[frame] = sum / format.channels;
  }
  return out;
}

/** Linear-interpolation resampling, enough for speech detection. */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const out = new Float32Array(Math.floor((samples.length * to) / from));
  for (let i = 0; i < out.length; i++) {
    const position = (i * from) / to;
    const left = Math.floor(position);
    const fraction = position - left;
    out[i] = (samples[left] ?? 0) * (1 - fraction) + (samples[left + 1] ?? 0) * fraction;
  }
  return out;
}
