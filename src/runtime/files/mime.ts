import { open } from "node:fs/promises";
import { extname } from "node:path";

/** How many leading bytes {@link sniffMime} looks at. */
export const SNIFF_BYTES = 64;

const OCTET_STREAM = "application/octet-stream";

const MIME_BY_EXTENSION: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  bmp: "image/bmp",
  svg: "image/svg+xml",
  tif: "image/tiff",
  tiff: "image/tiff",
  pdf: "application/pdf",
  wav: "audio/wav",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  flac: "audio/flac",
  m4a: "audio/mp4",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
  json: "application/json",
  txt: "text/plain",
  csv: "text/csv",
};

const EXTENSION_BY_MIME: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
  "image/webp": "webp",
  "image/avif": "avif",
  "image/bmp": "bmp",
  "image/svg+xml": "svg",
  "image/tiff": "tiff",
  "application/pdf": "pdf",
  "audio/wav": "wav",
  "audio/x-wav": "wav",
  "audio/mpeg": "mp3",
  "audio/ogg": "ogg",
  "audio/flac": "flac",
  "audio/mp4": "m4a",
  "video/mp4": "mp4",
  "video/webm": "webm",
  "video/quicktime": "mov",
  "application/json": "json",
  "text/plain": "txt",
  "text/csv": "csv",
};

/**
 * The media type of some content: by its magic bytes, else by the file name's extension, else
 * the type the sender declared.
 */
export function sniffMime(head: Uint8Array, fileName?: string, declared?: string): string {
  return (
    mimeFromMagic(head) ??
    (fileName === undefined ? undefined : mimeFromFileName(fileName)) ??
    usableDeclaredMime(declared) ??
    OCTET_STREAM
  );
}

/** Like {@link sniffMime}, reading the first bytes of a file. */
export async function sniffFileMime(path: string): Promise<string> {
  const handle = await open(path, "r");
  try {
    const head = new Uint8Array(SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    return sniffMime(head.subarray(0, bytesRead), path);
  } finally {
    await handle.close();
  }
}

export function mimeFromFileName(fileName: string): string | undefined {
  const extension = extname(fileName).slice(1).toLowerCase();
  return extension === "" ? undefined : MIME_BY_EXTENSION[extension];
}

/** The usual file extension (without the dot) of a media type, such as `png` for `image/png`. */
export function extensionForMime(mime: string): string | undefined {
  const essence = mime.split(";")[0]?.trim().toLowerCase() ?? "";
  return EXTENSION_BY_MIME[essence];
}

function usableDeclaredMime(declared: string | undefined): string | undefined {
  const essence = declared?.split(";")[0]?.trim().toLowerCase();
  if (essence === undefined || essence === OCTET_STREAM || !/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(essence)) {
    return undefined;
  }
  return essence;
}

function mimeFromMagic(bytes: Uint8Array): string | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWithText(bytes, "GIF87a") || startsWithText(bytes, "GIF89a")) return "image/gif";
  if (startsWithText(bytes, "RIFF")) {
    if (textAt(bytes, 8, "WEBP")) return "image/webp";
    if (textAt(bytes, 8, "WAVE")) return "audio/wav";
    return undefined;
  }
  if (startsWithText(bytes, "%PDF-")) return "application/pdf";
  if (startsWithText(bytes, "OggS")) return "audio/ogg";
  if (startsWithText(bytes, "fLaC")) return "audio/flac";
  if (startsWithText(bytes, "ID3") || isMpegAudioFrame(bytes)) return "audio/mpeg";
  if (textAt(bytes, 4, "ftyp")) return isoMediaMime(bytes);
  return undefined;
}

/** An MPEG audio frame header: 11 sync bits, a valid version and a layer (ADTS AAC has layer 0). */
function isMpegAudioFrame(bytes: Uint8Array): boolean {
  const first = bytes[0];
  const second = bytes[1];
  if (first !== 0xff || second === undefined) return false;
  const sync = (second & 0xe0) === 0xe0;
  const version = (second >> 3) & 0x03;
  const layer = (second >> 1) & 0x03;
  return sync && version !== 0x01 && layer !== 0x00;
}

function isoMediaMime(bytes: Uint8Array): string {
  const brand = String.fromCharCode(...bytes.subarray(8, 12));
  if (brand === "avif" || brand === "avis") return "image/avif";
  if (brand === "heic" || brand === "heix" || brand === "mif1") return "image/heic";
  if (brand === "M4A ") return "audio/mp4";
  if (brand === "qt  ") return "video/quicktime";
  return "video/mp4";
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, index) => bytes[index] === byte);
}

function startsWithText(bytes: Uint8Array, text: string): boolean {
  return textAt(bytes, 0, text);
}

function textAt(bytes: Uint8Array, offset: number, text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    if (bytes[offset + index] !== text.charCodeAt(index)) return false;
  }
  return true;
}
