/**
 * The models a test kit injects: ONNX files or folders on this machine, loaded into ONNX Runtime
 * sessions once per kit, or fakes the test supplies. Injections resolve through the function's
 * keyspace as in production (`Model<"key">`, `PayloadModel<"field">`); only where the files come
 * from differs. Keys the kit has no model for go to the production model host (downloads) when the
 * kit allows it, and are otherwise a failed run that says what to pass.
 */
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { InferenceSession } from "onnxruntime-node";
import { FatalError } from "../contract/errors.js";
import type { Model } from "../contract/handler-api.js";
import type { ManifestFunction } from "../contract/manifest.js";
import type { ModelLease, ModelLeaseRequest, ModelProvider, ModelsReport } from "../contract/model-lease.js";
import { DEFAULT_DTYPES, type ModelSpec } from "../contract/model-spec.js";
import { UserError } from "../contract/user-errors.js";
import { modelHandle } from "../models/host/model-handle.js";
import { type ModelChoice, resolveInjection } from "../models/host/model-selection.js";
import { createSession, type SessionLog } from "../models/sessions/execution-providers.js";
import { onnxGraphsOf } from "../models/sources/hf-file-selection.js";
import type { ProviderName } from "../settings/models.js";

/**
 * A fake model: anything with a `session` whose `run` the handler calls. The handler gets it as
 * its `Model`, with `key` and the keyspace's `ref` filled in unless given here.
 */
export interface FakeModel {
  session: { run(feeds: InferenceSession.FeedsType, ...rest: unknown[]): unknown };
  sessions?: Readonly<Record<string, unknown>>;
  ref?: string;
  path?: string;
  file?(relativePath: string): string;
}

/** Where a model key's model comes from: a `.onnx` file, a folder holding the graphs, or a fake. */
export type ModelSource = string | URL | FakeModel;

interface LoadedModel {
  dir: string;
  sessions: Record<string, InferenceSession>;
}

export interface KitModelsOptions {
  sources: Readonly<Record<string, ModelSource>>;
  /** Execution providers for local files; default `["cpu"]`. */
  providers: readonly ProviderName[];
  /** Every keyspace of the project (the manifest's `models_by_function`), for dtypes. */
  keyspaces: Readonly<Record<string, Readonly<Record<string, ModelSpec>>>>;
  /** The production model host, for keys without a source, when downloads are allowed. */
  fallback?: () => Promise<ModelProvider & { close(): Promise<void> }>;
}

export class KitModels implements ModelProvider {
  private readonly loaded = new Map<string, LoadedModel>();
  private host: (ModelProvider & { close(): Promise<void> }) | undefined;

  constructor(private readonly options: KitModelsOptions) {}

  /** Loads every local model now, so a wrong path fails the kit, not a run. */
  async prepare(): Promise<void> {
    for (const [key, source] of Object.entries(this.options.sources)) {
      if (typeof source === "string" || source instanceof URL) {
        this.loaded.set(key, await this.loadLocal(key, pathOf(source)));
      } else if (typeof source?.session?.run !== "function") {
        throw new UserError(
          `models.${key} is neither a path nor a fake model: pass the path of a .onnx file or of a folder holding one, or an object with session.run`,
        );
      }
    }
  }

  /** The fixed model keys of `fn` that the kit cannot serve. */
  missingKeys(fn: ManifestFunction): string[] {
    if (this.options.fallback) return [];
    return fn.injection_json
      .filter((injection) => injection.model_ref.source === "fixed")
      .map((injection) => injection.model_ref.key)
      .filter((key) => !(key in this.options.sources));
  }

  lease(request: ModelLeaseRequest): ModelLease {
    let delegate: ModelLease | undefined;
    let released = false;
    const report: ModelsReport = { models: [], fetchMs: 0, loadMs: 0 };
    return {
      load: async () => {
        const { fn, keyspace, payload } = request;
        const choices = fn.injection_json.map((injection) =>
          resolveInjection(injection, fn.name, keyspace, payload, undefined),
        );
        const missing = choices.filter((choice) => !(choice.key in this.options.sources));
        if (missing.length > 0) {
          if (!this.options.fallback) throw new FatalError(missingModelsMessage(fn.name, missing));
          this.host ??= await this.options.fallback();
          delegate = this.host.lease(request);
          if (released) delegate.release();
          return delegate.load();
        }
        const ids = new Set(choices.map((choice) => choice.modelId));
        report.models = [...ids].map((modelId) => ({ model_id: modelId, cache_state: "hot_vram" }));
        return choices.map((choice) => this.handle(choice));
      },
      report: () => delegate?.report() ?? report,
      release: () => {
        released = true;
        delegate?.release();
      },
    };
  }

  async close(): Promise<void> {
    const sessions = [...this.loaded.values()].flatMap((model) => Object.values(model.sessions));
    this.loaded.clear();
    await Promise.allSettled(sessions.map((session) => session.release()));
    await this.host?.close();
  }

  private handle(choice: ModelChoice): Model {
    const source = this.options.sources[choice.key] as ModelSource;
    const loaded = this.loaded.get(choice.key);
    const field = choice.field === undefined ? {} : { field: choice.field };
    if (loaded) {
      return modelHandle({
        key: choice.key,
        ref: choice.modelId,
        path: loaded.dir,
        sessions: loaded.sessions,
        ...field,
      });
    }
    const fake = source as FakeModel;
    const path = fake.path ?? "";
    return {
      key: choice.key,
      ref: fake.ref ?? choice.modelId,
      path,
      file: (relativePath: string) => join(path, relativePath),
      ...fake,
      sessions: (fake.sessions ?? { model: fake.session }) as Model["sessions"],
      session: fake.session as Model["session"],
      ...field,
    } as Model;
  }

  private async loadLocal(key: string, path: string): Promise<LoadedModel> {
    const info = await stat(path).catch(() => undefined);
    if (!info) {
      throw new UserError(
        `models.${key}: ${path} does not exist: give the path of a .onnx file or of a folder holding one`,
      );
    }
    const dtypes = this.dtypesOf(key);
    const dir = info.isDirectory() ? path : dirname(path);
    const files = info.isDirectory() ? await listFiles(path) : [basename(path)];
    const graphs = onnxGraphsOf(files, dtypes);
    if (graphs.length === 0) {
      throw new UserError(
        `models.${key}: ${path} holds no .onnx file: give the path of a .onnx file or of a folder holding one`,
      );
    }
    const sessions: Record<string, InferenceSession> = {};
    for (const graph of graphs) {
      const file = join(dir, ...graph.file.split("/"));
      sessions[graph.graph] = (
        await createSession(file, this.options.providers, QUIET_LOG).catch((error: unknown) => {
          throw new UserError(`models.${key}: ONNX Runtime cannot load ${file}: ${(error as Error).message}`);
        })
      ).session;
    }
    return { dir, sessions };
  }

  private dtypesOf(key: string): ModelSpec["dtypes"] {
    for (const keyspace of Object.values(this.options.keyspaces)) {
      const spec = keyspace[key];
      if (spec) return spec.dtypes;
    }
    return [...DEFAULT_DTYPES];
  }
}

function missingModelsMessage(functionName: string, missing: readonly ModelChoice[]): string {
  const keys = [...new Set(missing.map((choice) => choice.key))];
  const listed = keys.map((key) => `${key} (${missing.find((c) => c.key === key)?.modelId})`).join(", ");
  const example = keys.map((key) => `${JSON.stringify(key)}: "path/to/model.onnx"`).join(", ");
  return `${functionName} injects ${listed}, which the test kit has no model for: pass testKit(dir, { models: { ${example} } }) (a .onnx file, a folder, or a fake with session.run), or allow downloads with { download: true }`;
}

function pathOf(source: string | URL): string {
  return resolve(source instanceof URL ? fileURLToPath(source) : source);
}

/** Every file under `dir`, as `/`-separated paths relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"));
}

const quiet = () => {};
const QUIET_LOG = { info: quiet, warn: quiet } as unknown as SessionLog;
