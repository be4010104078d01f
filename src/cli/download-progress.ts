import { MultiBar, type SingleBar } from "cli-progress";
import type { FileProgress } from "../models/store/disk-cache.js";
import { formatBytes } from "../util/format-bytes.js";
import type { Output } from "./output.js";

export interface DownloadProgress {
  onProgress(progress: FileProgress): void;
  /** Leaves the bars as they are and gives the terminal back; call before printing anything else. */
  stop(): void;
}

/**
 * Download progress on stderr: on a terminal a bar per file (cli-progress), left in place with its
 * size once done; elsewhere (pipes, CI logs) one line per finished file.
 */
export function downloadProgress(out: Output, stream: NodeJS.WriteStream = process.stderr): DownloadProgress {
  const label = (progress: FileProgress) => `[${progress.index}/${progress.count}] ${progress.path}`;
  if (stream.isTTY !== true) {
    return {
      onProgress(progress) {
        if (progress.done) out.info(`${label(progress)} ${formatBytes(progress.bytes)} done`);
      },
      stop() {},
    };
  }
  const bars = new MultiBar({
    stream,
    format: "{bar} {percentage}% {file} {sizes}",
    barsize: 24,
    barCompleteChar: "█",
    barIncompleteChar: "░",
    hideCursor: true,
    clearOnComplete: false,
  });
  const byPath = new Map<string, SingleBar>();
  return {
    onProgress(progress) {
      const total = Math.max(progress.total ?? progress.bytes, 1);
      const payload = {
        file: label(progress),
        sizes: progress.done
          ? `${formatBytes(progress.bytes)} done`
          : `${formatBytes(progress.bytes)} / ${formatBytes(total)}`,
      };
      let bar = byPath.get(progress.path);
      if (bar === undefined) {
        bar = bars.create(total, 0, payload);
        byPath.set(progress.path, bar);
      }
      bar.setTotal(total);
      bar.update(progress.done ? total : progress.bytes, payload);
    },
    stop: () => bars.stop(),
  };
}
