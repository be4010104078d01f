const REFRESH_MS = 250;

let cachedAt = Number.NEGATIVE_INFINITY;
let cachedBytes = 0;

/**
 * The process's peak resident memory in bytes (the Python SDK's `peak_ram_bytes`). Reading it is a
 * system call that costs more than a trivial run, so the value is refreshed at most every 250 ms.
 */
export function peakRamBytes(): number {
  const now = performance.now();
  if (now - cachedAt >= REFRESH_MS) {
    cachedBytes = process.resourceUsage().maxRSS * 1024;
    cachedAt = now;
  }
  return cachedBytes;
}
