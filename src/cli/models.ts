import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { ModelSnapshot } from "../models/sources/snapshot-source.js";
import type { FileProgress, SnapshotInfo } from "../models/store/disk-cache.js";
import type { ModelSpec } from "../project/cozy-toml.js";
import { ExitCode, type Output } from "./output.js";
import { UsageError } from "./usage.js";

/** `cozy-worker models pull|ls|rm`: the local model cache (`WORKER_MODEL_CACHE_DIR`). */
export function registerModels(program: Command, out: Output): void {
  const models = program
    .command("models")
    .description("download, list and remove models in the local cache (WORKER_MODEL_CACHE_DIR)");

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
  $ cozy-worker models pull detector examples/ocr      the model cozy.toml names "detector"
  $ WORKER_ALLOW_COZY_HUB_API_RESOLVE=1 COZY_HUB_URL=https://hub.example cozy-worker models pull cozy:acme/detector:v2

HF_ENDPOINT and HF_TOKEN are used as by the worker. cozy: refs are resolved through the Cozy Hub API,
which needs WORKER_ALLOW_COZY_HUB_API_RESOLVE=1, COZY_HUB_URL and (for private repos) COZY_HUB_TOKEN.
Progress goes to stderr.`,
    )
    .action(async (model: string, dir: string, options: { dtype?: string; json?: boolean }) => {
      await withErrors(out, async () => {
        const { ModelDiskCache } = await import("../models/store/disk-cache.js");
        const { formatBytes } = await import("../util/format-bytes.js");
        const spec = await modelSpecFor(model, dir, options.dtype);
        const cache = new ModelDiskCache();
        const started = Date.now();
        const { downloadProgress } = await import("./download-progress.js");
        const { parseModelRef } = await import("../contract/model-ref.js");
        const { ensureSnapshot } = await import("../models/sources/snapshot-source.js");
        const progress = downloadProgress(out);
        const onProgress = (file: FileProgress) => progress.onProgress(file);
        let snapshot: ModelSnapshot;
        try {
          // modelSpecFor has already checked that a cozy: ref may be pulled here (cozyRefForPull).
          snapshot = await ensureSnapshot(cache, parseModelRef(spec.ref), spec, { onProgress });
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
    });

  models
    .command("ls")
    .description("list the cached model snapshots")
    .option("--json", "print them as JSON on stdout")
    .action(async (options: { json?: boolean }) => {
      await withErrors(out, async () => {
        const { ModelDiskCache } = await import("../models/store/disk-cache.js");
        const { formatBytes } = await import("../util/format-bytes.js");
        const cache = new ModelDiskCache();
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
    .action(async (ref: string, options: { json?: boolean }) => {
      await withErrors(out, async () => {
        const { ModelDiskCache } = await import("../models/store/disk-cache.js");
        const { formatBytes } = await import("../util/format-bytes.js");
        const { parseModelRef } = await import("../contract/model-ref.js");
        parseModelRef(ref);
        const cache = new ModelDiskCache();
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
    });
}

/** Known failures print their message and set exit code 1 (2 for usage); anything else is a bug. */
async function withErrors(out: Output, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const known = await isKnownError(error);
    if (known === "usage") throw new UsageError((error as Error).message);
    if (!known) throw error;
    out.error((error as Error).message);
    process.exitCode = ExitCode.Failure;
  }
}

async function isKnownError(error: unknown): Promise<"usage" | boolean> {
  if (!(error instanceof Error)) return false;
  const [{ ModelRefError }, { HfSelectionError }, { EnvironmentError }, { ConfigError }] = await Promise.all([
    import("../contract/model-ref.js"),
    import("../models/sources/hf-file-selection.js"),
    import("../settings/runtime.js"),
    import("../project/cozy-toml.js"),
  ]);
  if (error instanceof ModelRefError || error instanceof EnvironmentError) return "usage";
  if (error instanceof ConfigError || error instanceof HfSelectionError) return true;
  const { HfHubError } = await import("../models/sources/hf-hub.js");
  const { CozyHubError } = await import("../models/sources/cozy-hub.js");
  const { UnsafePathError } = await import("../util/relative-path.js");
  const { DownloadError } = await import("../models/download/download-file.js");
  const { WorkerError } = await import("../contract/errors.js");
  const { SnapshotInUseError } = await import("../models/store/disk-cache.js");
  if (
    error instanceof HfHubError ||
    error instanceof CozyHubError ||
    error instanceof UnsafePathError ||
    error instanceof DownloadError ||
    error instanceof WorkerError ||
    error instanceof SnapshotInUseError
  ) {
    return true;
  }
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code);
}

/**
 * A cozy: ref to pull through the Cozy Hub API; without WORKER_ALLOW_COZY_HUB_API_RESOLVE the worker
 * takes cozy: models only from the scheduler's presigned URLs, so the CLI says what to set.
 */
async function cozyRefForPull(text: string) {
  const [{ parseModelRef }, { cozyHubApiResolveAllowed }] = await Promise.all([
    import("../contract/model-ref.js"),
    import("../models/sources/cozy-hub.js"),
  ]);
  const ref = parseModelRef(text);
  if (!cozyHubApiResolveAllowed()) {
    throw new UsageError(
      `${text}: the worker downloads cozy: models from URLs the scheduler resolves; to pull one here, ` +
        "set WORKER_ALLOW_COZY_HUB_API_RESOLVE=1 and COZY_HUB_URL (and COZY_HUB_TOKEN for a private repo)",
    );
  }
  if (!process.env.COZY_HUB_URL?.trim()) {
    throw new UsageError(`${text}: set COZY_HUB_URL to the Cozy Hub base URL to pull cozy: models`);
  }
  return ref;
}

/** A ref given as is (`hf:...` or `cozy:...`), or a key looked up in `<dir>/cozy.toml`. */
async function modelSpecFor(model: string, dir: string, dtype: string | undefined): Promise<ModelSpec> {
  const { DTYPES, DEFAULT_DTYPES, isDtype, parseCozyConfig } = await import("../project/cozy-toml.js");
  const { parseModelRef } = await import("../contract/model-ref.js");
  if (/^cozy:/i.test(model.trim())) {
    if (dtype !== undefined)
      throw new UsageError("--dtype applies to hf: refs; a cozy: snapshot is pulled whole");
    await cozyRefForPull(model.trim());
    return { ref: model.trim(), dtypes: [...DEFAULT_DTYPES] };
  }
  if (/^hf:/i.test(model.trim())) {
    parseModelRef(model);
    let dtypes = [...DEFAULT_DTYPES];
    if (dtype !== undefined) {
      const items = dtype
        .split(",")
        .map((item) => item.trim().toLowerCase())
        .filter(Boolean);
      const known = items.filter(isDtype);
      if (items.length === 0 || known.length < items.length) {
        throw new UsageError(`--dtype ${JSON.stringify(dtype)}: known dtypes are ${DTYPES.join(", ")}`);
      }
      dtypes = known;
    }
    return { ref: model.trim(), dtypes };
  }
  const file = join(resolve(dir), "cozy.toml");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError(
      `"${model}" is not an hf: or cozy: ref, and there is no ${file} to look it up in as a model key ` +
        "(write hf:owner/repo or cozy:owner/repo, or pass the project folder)",
    );
  }
  const { GEN_WORKER_VERSION } = await import("../host/package.js");
  const config = parseCozyConfig(text, file, { packageVersion: GEN_WORKER_VERSION });
  const spec =
    config.models[model] ??
    Object.values(config.endpoints).find((models) => models[model] !== undefined)?.[model];
  if (spec === undefined) {
    const keys = Object.keys(config.models);
    throw new UsageError(
      `no model "${model}" in ${file}; its [models] keys: ${keys.length > 0 ? keys.join(", ") : "none"}`,
    );
  }
  if (dtype !== undefined)
    throw new UsageError("--dtype applies to a ref given as is; cozy.toml sets the key's dtypes");
  if (!/^hf:/i.test(spec.ref)) await cozyRefForPull(spec.ref);
  return spec;
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
