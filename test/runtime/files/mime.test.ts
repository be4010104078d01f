import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { extensionForMime, sniffFileMime, sniffMime } from "../../../src/runtime/files/mime.js";
import { makeTempDir, PNG_BYTES } from "./servers.js";

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(
    Buffer.concat(
      parts.map((part) => (typeof part === "string" ? Buffer.from(part, "latin1") : Buffer.from(part))),
    ),
  );

describe("sniffMime", () => {
  it.each<[string, Uint8Array, string]>([
    ["PNG", new Uint8Array(PNG_BYTES), "image/png"],
    ["JPEG", bytes([0xff, 0xd8, 0xff, 0xe0], "JFIF"), "image/jpeg"],
    ["GIF87a", bytes("GIF87a..."), "image/gif"],
    ["GIF89a", bytes("GIF89a..."), "image/gif"],
    ["WEBP", bytes("RIFF", [1, 2, 3, 4], "WEBPVP8 "), "image/webp"],
    ["WAV", bytes("RIFF", [1, 2, 3, 4], "WAVEfmt "), "audio/wav"],
    ["PDF", bytes("%PDF-1.7\n"), "application/pdf"],
    ["MP3 with ID3", bytes("ID3", [4, 0, 0]), "audio/mpeg"],
    ["MP3 frame", bytes([0xff, 0xfb, 0x90, 0x64]), "audio/mpeg"],
    ["OGG", bytes("OggS", [0, 2]), "audio/ogg"],
    ["FLAC", bytes("fLaC", [0, 0, 0, 34]), "audio/flac"],
    ["MP4", bytes([0, 0, 0, 0x20], "ftypisom"), "video/mp4"],
    ["M4A", bytes([0, 0, 0, 0x20], "ftypM4A "), "audio/mp4"],
    ["AVIF", bytes([0, 0, 0, 0x20], "ftypavif"), "image/avif"],
  ])("%s by magic", (_name, data, expected) => {
    expect(sniffMime(data, "misleading.txt")).toBe(expected);
  });

  it("does not take ADTS AAC (layer 0) for MP3", () => {
    expect(sniffMime(bytes([0xff, 0xf1, 0x50, 0x80]))).toBe("application/octet-stream");
  });

  it("falls back to the extension, then the declared type, then octet-stream", () => {
    expect(sniffMime(bytes("plain"), "notes.TXT")).toBe("text/plain");
    expect(sniffMime(bytes("plain"), "photo.jpeg")).toBe("image/jpeg");
    expect(sniffMime(bytes("RIFF", [0, 0, 0, 0], "AVI "), "clip")).toBe("application/octet-stream");
    expect(sniffMime(bytes("a,b"), "export", "text/csv; charset=utf-8")).toBe("text/csv");
    expect(sniffMime(bytes("a"), "x", "application/octet-stream")).toBe("application/octet-stream");
    expect(sniffMime(bytes("a"), "x", "not a type")).toBe("application/octet-stream");
    expect(sniffMime(new Uint8Array())).toBe("application/octet-stream");
  });

  it("sniffs a file on disk", async () => {
    const dir = await makeTempDir();
    try {
      const path = join(dir.path, "noext");
      await writeFile(path, PNG_BYTES);
      expect(await sniffFileMime(path)).toBe("image/png");
    } finally {
      await dir.remove();
    }
  });
});

describe("extensionForMime", () => {
  it.each([
    ["image/png", "png"],
    ["image/jpeg", "jpg"],
    ["image/webp", "webp"],
    ["image/gif", "gif"],
    ["IMAGE/PNG; q=1", "png"],
    ["application/x-unknown", undefined],
  ])("%s → %s", (mime, extension) => {
    expect(extensionForMime(mime)).toBe(extension);
  });
});
