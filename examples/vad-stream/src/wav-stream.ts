/** The audio's format once known: its sample rate and how to read a frame of samples. */
export interface AudioFormat {
  sampleRate: number;
  channels: number;
  /** 16-bit PCM, or 32-bit float. */
  encoding: "pcm16" | "float32";
}

/** Raw 16-bit little-endian PCM, when the stream does not start with a WAV header. */
export const RAW_FORMAT: AudioFormat = { sampleRate: 16_000, channels: 1, encoding: "pcm16" };

/**
 * Audio that arrives in pieces: a WAV file (its RIFF header first, then the data chunk), or raw
 * 16-bit PCM at 16 kHz mono. {@link push} returns the mono samples in [-1, 1] that the new bytes
 * complete; a sample split across two pieces waits for the second.
 */
export class WavStream {
  private header: Uint8Array | undefined = new Uint8Array(0);
  private carry = new Uint8Array(0);
  /** Bytes of the data chunk not yet received; undefined for raw PCM or an open-ended chunk. */
  private remaining: number | undefined;
  format: AudioFormat | undefined;

  /** Whether the WAV file's data chunk has arrived whole. */
  get complete(): boolean {
    return this.remaining === 0;
  }

  push(bytes: Uint8Array): Float32Array {
    if (this.header !== undefined) {
      const body = this.readHeader(concat(this.header, bytes));
      if (body === undefined) return new Float32Array(0);
      bytes = body;
    }
    if (this.remaining !== undefined) {
      bytes = bytes.subarray(0, this.remaining);
      this.remaining -= bytes.byteLength;
    }
    const format = this.format as AudioFormat;
    const data = concat(this.carry, bytes);
    const frameBytes = (format.encoding === "pcm16" ? 2 : 4) * format.channels;
    const frames = Math.floor(data.byteLength / frameBytes);
    this.carry = data.slice(frames * frameBytes);
    return toMono(data.subarray(0, frames * frameBytes), frames, format);
  }

  /** Parses the header once it has arrived; returns the bytes after it, or undefined while it is incomplete. */
  private readHeader(bytes: Uint8Array): Uint8Array | undefined {
    const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
    if (bytes.byteLength < 12) {
      if ("RIFF".startsWith(tag(0))) {
        this.header = bytes;
        return undefined;
      }
    } else if (tag(0) === "RIFF" && tag(8) === "WAVE") {
      return this.readChunks(bytes);
    }
    this.header = undefined;
    this.format = RAW_FORMAT;
    return bytes;
  }

  private readChunks(bytes: Uint8Array): Uint8Array | undefined {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 12;
    let format: AudioFormat | undefined;
    while (offset + 8 <= bytes.byteLength) {
      const id = String.fromCharCode(...bytes.subarray(offset, offset + 4));
      const size = view.getUint32(offset + 4, true);
      const body = offset + 8;
      if (id === "data") {
        if (!format) throw new Error("the WAV stream has its data before its format chunk");
        this.header = undefined;
        this.format = format;
        // 0 and 0xFFFFFFFF mark a stream of unknown length: it ends when the client closes.
        this.remaining = size === 0 || size === 0xffffffff ? undefined : size;
        return bytes.subarray(body);
      }
      if (body + size > bytes.byteLength) break;
      if (id === "fmt ") format = readFormat(view, body);
      offset = body + size + (size % 2);
    }
    this.header = bytes;
    return undefined;
  }
}

function readFormat(view: DataView, at: number): AudioFormat {
  const code = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const bits = view.getUint16(at + 14, true);
  if (code === 1 && bits === 16) return { sampleRate, channels, encoding: "pcm16" };
  if (code === 3 && bits === 32) return { sampleRate, channels, encoding: "float32" };
  throw new Error(
    `the WAV stream holds ${bits}-bit samples of format ${code}: send 16-bit PCM or 32-bit float`,
  );
}

/** Channels averaged to mono, as examples/vad's decoder does. */
function toMono(bytes: Uint8Array, frames: number, format: AudioFormat): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = format.encoding === "pcm16" ? 2 : 4;
  const out = new Float32Array(frames);
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    for (let channel = 0; channel < format.channels; channel++) {
      const at = (frame * format.channels + channel) * width;
      sum += format.encoding === "pcm16" ? view.getInt16(at, true) / 32768 : view.getFloat32(at, true);
    }
    out[frame] = sum / format.channels;
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
