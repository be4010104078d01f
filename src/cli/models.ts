import type { Command } from "commander";
import type { FileProgress, SnapshotInfo } from "../models/store/disk-cache.js";
import type { ModelSnapshot } from "../models/store/ensure-snapshot.js";
import { ExitCode, type Output } from "./output.js";

/** `cozy-worker models pull|ls|rm`: the local model cache (`WORKER_MODEL_CACHE_DIR`). */
export function registerModels(program: Command, out: Output): void {
  const models = program
    .command("models")
    .description("download, list and remove models in the local cache (WORKER_MODEL_CACHE_DIR)")
    .addHelpText(
      "after",
      `
Examples:
  $ cozy-worker models pull vad examples/vad          the model examples/vad's cozy.toml names "vad"
  $ cozy-worker models ls                             what the cache holds, newest first
  $ cozy-worker models rm hf:onnx-community/silero-vad

The cache is WORKER_MODEL_CACHE_DIR (default /tmp/cozy/models), the folder the worker reads too.`,
    );

  models
    .command("pull")
    .description(
      "download a model's files into the cache (an hf: or cozy: ref, or a key of cozy.toml [models])",
    )
    .argument(
      "<model>",
      "hf:owner/repo[@revision], cozy:owner/repo[:tag|@blake3:<hex>], or a key of the project's cozy.toml [models]",
    )
    .argument("[dir]", "project folder holding cozy.toml (for keys)", ".")
    .option("--dtype <list>", "dtype preference for a ref given as is, comma-separated (default fp32)")
    .option("--json", "print the snapshot as JSON on stdout")
    .addHelpText(
      "after",
      `
Examples:
  $ cozy-worker models pull hf:onnx-community/silero-vad
  $ cozy-worker models pull hf:Xenova/all-MiniLM-L6-v2@main --dtype q4,fp32
  $ cozy-worker models pull vad examples/vad           the model examples/vad's cozy.toml names "vad"
  $ WORKER_ALLOW_COZY_HUB_API_RESOLVE=1 COZY_HUB_URL=https://hub.example cozy-worker models pull cozy:acme/detector:v2

HF_ENDPOINT and HF_TOKEN are used as by the worker. cozy: refs are resolved through the Cozy Hub API,
which needs WORKER_ALLOW_COZY_HUB_API_RESOLVE=1, COZY_HUB_URL and (for private repos) COZY_HUB_TOKEN.
Progress goes to stderr.`,
    )
    .action(async (model: string, dir: string, options: { dtype?: string; json?: boolean }) => {
      const [
        { ModelDiskCache },
        { pullModel, pullSpec },
        { formatBytes },
        { downloadProgress },
        { modelSettingsFromEnv },
      ] = await Promise.all([
        import("../models/store/disk-cache.js"),
        import("../models/store/pull.js"),
        import("../util/format-bytes.js"),
        import("./download-progress.js"),
        import("../settings/models.js"),
      ]);
      const settings = modelSettingsFromEnv();
      const spec = await pullSpec(model, dir, options.dtype, settings);
      const cache = new ModelDiskCache({ settings });
      const started = Date.now();
      const progress = downloadProgress(out);
      const onProgress = (file: FileProgress) => progress.onProgress(file);
      let snapshot: ModelSnapshot;
      try {
        snapshot = await pullModel(cache, spec, { onProgress });
      } finally {
        progress.stop();
      }
      if (options.json) {
        const { release: _release, ...data } = snapshot;
        await out.writeResult(`${JSON.stringify(data, null, 2)}\n`);
      } else {
        const how = snapshot.cached
          ? "already cached"
          : `pulled in ${((Date.now() - started) / 1000).toFixed(1)} s`;
        out.info(`${snapshot.ref}: ${snapshot.files.length} files, ${formatBytes(snapshot.bytes)}, ${how}`);
        await out.writeResult(`${snapshot.dir}\n`);
      }
    });

  models
    .command("ls")
    .description("list the cached model snapshots")
    .option("--json", "print them as JSON on stdout")
    .addHelpText(
      "after",
      `
Examples:
  $ cozy-worker models ls
  $ WORKER_MODEL_CACHE_DIR=/data/models cozy-worker models ls --json`,
    )
    .action(async (options: { json?: boolean }) => {
      const { ModelDiskCache } = await import("../models/store/disk-cache.js");
      const { modelSettingsFromEnv } = await import("../settings/models.js");
      const { formatBytes } = await import("../util/format-bytes.js");
      const cache = new ModelDiskCache({ settings: modelSettingsFromEnv() });
      const snapshots = (await cache.listSnapshots()).reverse();
      if (options.json) {
        const rows = snapshots.map(({ pinned: _pinned, lastUsed, ...info }) => ({
          ...info,
          lastUsed: lastUsed.toISOString(),
        }));
        await out.writeResult(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (snapshots.length === 0) {
        out.info(`no models in ${cache.dir}`);
        return;
      }
      await out.writeResult(formatTable(snapshots, formatBytes));
      const total = snapshots.reduce((sum, info) => sum + info.bytes, 0);
      const cap = cache.maxBytes > 0 ? ` of ${formatBytes(cache.maxBytes)}` : "";
      out.info(`${snapshots.length} snapshots, ${formatBytes(total)}${cap} in ${cache.dir}`);
    });

  models
    .command("rm")
    .description(
      "remove cached snapshots: hf:owner/repo or cozy:owner/repo removes all of the repo's, @revision or @digest one",
    )
    .argument(
      "<ref>",
      "hf:owner/repo[@<revision or commit>] or cozy:owner/repo[:tag|@blake3:<hex, 12 digits or more>]",
    )
    .option("--json", "print what was removed as JSON on stdout")
    .addHelpText(
      "after",
      `
Examples:
  $ cozy-worker models rm hf:onnx-community/silero-vad           every cached revision of the repo
  $ cozy-worker models rm hf:onnx-community/silero-vad@main      one revision
  $ cozy-worker models rm cozy:acme/detector@blake3:4f2a9c01b3d7  one snapshot, by its digest's start

A snapshot a running worker uses in this process is kept.`,
    )
    .action(async (ref: string, options: { json?: boolean }) => {
      const { ModelDiskCache } = await import("../models/store/disk-cache.js");
      const { modelSettingsFromEnv } = await import("../settings/models.js");
      const { formatBytes } = await import("../util/format-bytes.js");
      const { parseModelRef } = await import("../contract/model-ref.js");
      parseModelRef(ref);
      const cache = new ModelDiskCache({ settings: modelSettingsFromEnv() });
      const removed = await cache.removeSnapshot(ref.trim());
      if (options.json) {
        await out.writeResult(`${JSON.stringify(removed.map((info) => info.ref))}\n`);
      }
      if (removed.length === 0) {
        out.error(`no cached snapshot matches ${ref} in ${cache.dir} (see cozy-worker models ls)`);
        process.exitCode = ExitCode.Failure;
        return;
      }
      for (const info of removed) out.info(`removed ${info.ref} (${formatBytes(info.bytes)})`);
    });
}

function formatTable(rows: SnapshotInfo[], formatBytes: (bytes: number) => string): string {
  const table = [
    ["REF", "COMMIT", "FILES", "SIZE", "LAST USED"],
    ...rows.map((info) => [
      info.scheme === "cozy"
        ? `cozy:${info.repo}${/:/.test(info.revision) || info.revision === info.commit ? "" : `:${info.revision}`}`
        : `hf:${info.repo}${info.revision === info.commit ? "" : `@${info.revision}`}`,
      info.commit.replace(/^[a-z0-9]+:/, "").slice(0, 12),
      String(info.files),
      formatBytes(info.bytes),
      info.lastUsed.toISOString().replace("T", " ").slice(0, 19),
    ]),
  ];
  const widths =
    table[0]?.map((_, column) => Math.max(...table.map((row) => (row[column] ?? "").length))) ?? [];
  return `${table
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}
