// Model download throughput: one file of random bytes (1 GB; BENCH_DOWNLOAD_MB changes it) from a
// loopback HTTP server in its own process, through downloadFile with blake3 verification (as cozy:
// snapshots use it), with sha256 (hf: LFS files) and with the size check only, next to curl fetching
// the same file from the same server in the same run. Every variant ends with the file fsynced (ours
// does it before its rename; curl's file is fsynced after curl exits, inside its timing). Variants
// take turns (each round starting with the next one), ROUNDS rounds; the figures are MB/s (10^6 bytes per second).
import { spawnSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { downloadFile } from "../dist/models/download/download-file.js";
import { startProcess } from "./runner.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const SIZE = Math.round(Number(process.env.BENCH_DOWNLOAD_MB ?? 1000) * 1e6);
const ROUNDS = Number(process.env.BENCH_DOWNLOAD_ROUNDS ?? 3);

/** Writes `size` random bytes to `path` and returns their sha256 and blake3. */
async function writeRandomFile(path, size) {
  const sha256 = createHash("sha256");
  const blake3 = new Blake3Hasher();
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  const fd = openSync(path, "w");
  try {
    for (let written = 0; written < size; ) {
      const piece = chunk.subarray(0, Math.min(chunk.length, size - written));
      randomFillSync(piece);
      sha256.update(piece);
      blake3.update(piece);
      writeSync(fd, piece);
      written += piece.length;
    }
  } finally {
    closeSync(fd);
  }
  return { sha256: sha256.digest("hex"), blake3: blake3.digest("hex") };
}

function hasCurl() {
  return spawnSync("curl", ["--version"], { stdio: "ignore" }).status === 0;
}

function fsyncFile(path) {
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** MB/s of each hash alone over 256 MB in memory, fed 64 KiB at a time as a download feeds it. */
function hashRates() {
  const buffer = randomFillSync(Buffer.alloc(256 * 1024 * 1024));
  const rate = (hasher) => {
    const start = process.hrtime.bigint();
    for (let at = 0; at < buffer.length; at += 65536) hasher.update(buffer.subarray(at, at + 65536));
    hasher.digest("hex");
    return buffer.length / 1e6 / (Number(process.hrtime.bigint() - start) / 1e9);
  };
  return { blake3: rate(new Blake3Hasher()), sha256: rate(createHash("sha256")) };
}

export async function benchDownload() {
  const dir = mkdtempSync(join(tmpdir(), "cozy-bench-download-"));
  let server;
  try {
    const source = join(dir, "model.bin");
    const hashes = await writeRandomFile(source, SIZE);
    server = await startProcess([join(root, "bench/servers/file-server.mjs"), source]);
    const url = `${server.url}/model.bin`;
    const dest = join(dir, "out.bin");
    const curl = hasCurl();
    const variants = [
      ...(curl
        ? [
            {
              name: "curl",
              run: async () => {
                const result = spawnSync("curl", ["-sS", "--fail", "-o", dest, url], {
                  stdio: ["ignore", "ignore", "pipe"],
                });
                if (result.status !== 0) throw new Error(`curl failed: ${result.stderr}`);
                fsyncFile(dest);
              },
            },
          ]
        : []),
      {
        name: "downloadFile, blake3",
        run: () => downloadFile(url, dest, { expectedSize: SIZE, expectedBlake3: hashes.blake3 }),
      },
      {
        name: "downloadFile, sha256",
        run: () => downloadFile(url, dest, { expectedSize: SIZE, expectedSha256: hashes.sha256 }),
      },
      { name: "downloadFile, size only", run: () => downloadFile(url, dest, { expectedSize: SIZE }) },
    ];
    const samples = new Map(variants.map((variant) => [variant.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with another variant, so none always runs right after curl's fsync.
      const turn = variants.map((_, i) => variants[(i + round) % variants.length]);
      for (const variant of turn) {
        rmSync(dest, { force: true });
        const start = process.hrtime.bigint();
        await variant.run();
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        if (statSync(dest).size !== SIZE)
          throw new Error(`${variant.name} wrote ${statSync(dest).size} bytes`);
        samples.get(variant.name).push(SIZE / 1e6 / seconds);
      }
    }
    const rows = variants.map(({ name }) => {
      const values = [...samples.get(name)].sort((a, b) => a - b);
      return { name, median: values[Math.floor(values.length / 2)], min: values[0], max: values.at(-1) };
    });
    const curlMedian = rows.find((row) => row.name === "curl")?.median;
    for (const row of rows) row.ratio = curlMedian === undefined ? undefined : row.median / curlMedian;
    return { bytes: SIZE, rounds: ROUNDS, curl, rows, hashing: hashRates() };
  } finally {
    server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await benchDownload();
  printDownload(result);
}

export function printDownload(result) {
  console.log(
    `\n## Model download (${(result.bytes / 1e9).toFixed(2)} GB of random bytes, loopback HTTP, median of ${result.rounds})`,
  );
  if (!result.curl) console.log("curl is not installed: the comparison with curl is skipped.");
  console.log("| client | median MB/s | min MB/s | max MB/s | / curl |\n|---|---|---|---|---|");
  for (const row of result.rows) {
    const ratio = row.ratio === undefined ? "" : row.ratio.toFixed(2);
    console.log(
      `| ${row.name} | ${row.median.toFixed(0)} | ${row.min.toFixed(0)} | ${row.max.toFixed(0)} | ${ratio} |`,
    );
  }
  console.log(
    `hashing alone, in memory: blake3 ${result.hashing.blake3.toFixed(0)} MB/s, sha256 ${result.hashing.sha256.toFixed(0)} MB/s`,
  );
  const ratio = (name) => result.rows.find((row) => row.name === name)?.ratio?.toFixed(2);
  if (result.curl)
    console.log(
      `downloadFile / curl (target ≥ 0.8): ${ratio("downloadFile, size only")} with the size check curl also makes; ` +
        `${ratio("downloadFile, blake3")} verifying blake3, ${ratio("downloadFile, sha256")} verifying sha256 (curl verifies neither)`,
    );
}
