import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { downloadProgress } from "../../src/cli/download-progress.js";
import type { Output } from "../../src/cli/output.js";

function recordingOutput(): Output & { lines: string[] } {
  const lines: string[] = [];
  const push = (text: string) => {
    lines.push(text);
  };
  return { lines, info: push, warn: push, error: push, logLine: push, writeResult: async () => undefined };
}

function terminal(): NodeJS.WriteStream & { text(): string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & { text(): string };
  let text = "";
  (stream as unknown as PassThrough).on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  Object.assign(stream, { isTTY: true, columns: 120, rows: 40, text: () => text });
  return stream;
}

const file = (path: string, index: number, bytes: number, done = false) => ({
  path,
  bytes,
  total: 2_000_000,
  index,
  count: 2,
  done,
});

describe("download progress", () => {
  it("draws a bar per file on a terminal and leaves each with its size once done", () => {
    const out = recordingOutput();
    const stream = terminal();
    const progress = downloadProgress(out, stream);
    progress.onProgress(file("onnx/model.onnx", 1, 500_000));
    progress.onProgress(file("config.json", 2, 2_000_000, true));
    progress.onProgress(file("onnx/model.onnx", 1, 2_000_000, true));
    progress.stop();
    const text = stream.text();
    expect(text).toContain("100% [1/2] onnx/model.onnx 2.00 MB done");
    expect(text).toContain("100% [2/2] config.json 2.00 MB done");
    expect(out.lines).toEqual([]);
  });

  it("prints one line per finished file elsewhere (pipes, CI logs)", () => {
    const out = recordingOutput();
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    const progress = downloadProgress(out, stream);
    progress.onProgress(file("onnx/model.onnx", 1, 500_000));
    progress.onProgress(file("onnx/model.onnx", 1, 2_000_000, true));
    progress.stop();
    expect(out.lines).toEqual(["[1/2] onnx/model.onnx 2.00 MB done"]);
  });
});
