import { relative, sep } from "node:path";
import type { ts } from "ts-morph";
import type { JsonSchema } from "../contract/json-schema.js";
import type {
  Manifest,
  ManifestFunction,
  RealtimeManifestFunction,
  TypeLocation,
} from "../contract/manifest.js";
import type { Problem } from "../contract/problems.js";
import { GEN_WORKER_VERSION, NODE_ENGINES } from "../host/package.js";
import { ConfigError, type CozyConfig, loadCozyConfig } from "../project/cozy-toml.js";
import { schemaHash } from "../util/canonical-json.js";
import { findHandlers, type Handler } from "./handlers.js";
import { checkInjections, keyspaceFor } from "./keyspace.js";
import { DiscoveryError, problemAt } from "./problems.js";
import { createTenantProgram } from "./program.js";
import type { RealtimeHandler } from "./realtime-handlers.js";
import { SchemaBuilder } from "./schema-builder.js";
import { isSdkFile } from "./sdk-types.js";

export interface DiscoveryResult {
  manifest: Manifest;
  /** Things worth fixing that do not stop the build. */
  warnings: Problem[];
}

export interface DiscoverOptions {
  /** `COZY_MANIFEST_PATH`: the cozy.toml to read instead of `<projectDir>/cozy.toml`. */
  cozyTomlPath?: string;
}

/**
 * Reads a tenant project (cozy.toml and the TypeScript it names as `main`) and builds its
 * manifest without running any tenant code. Throws {@link DiscoveryError} listing every problem.
 */
export async function discover(projectDir: string, options: DiscoverOptions = {}): Promise<DiscoveryResult> {
  const config = await loadConfig(projectDir, options.cozyTomlPath);
  const { project, entry } = createTenantProgram(config.mainPath);
  const program = project.getProgram().compilerObject;
  const checker = program.getTypeChecker();
  const problems: Problem[] = [];
  const report = (node: ts.Node, message: string) => problems.push(problemAt(node, message));
  const warnings: Problem[] = [...config.warnings];
  const warn = (node: ts.Node, message: string) => warnings.push(problemAt(node, message));

  const found = findHandlers(entry, checker, report, warn);
  const functions: ManifestFunction[] = [];
  for (const handler of found.handlers) {
    const keyspace = keyspaceFor(handler.endpointName, config);
    if (!checkInjections(handler, keyspace, checker, report)) continue;
    const builderOptions = { checker, program, report };
    functions.push(describeHandler(handler, config, builderOptions));
  }
  const realtime = found.realtime
    .filter((handler) => checkInjections(handler, keyspaceFor(handler.endpointName, config), checker, report))
    .map((handler) => describeRealtimeHandler(handler, config));
  const all = [...found.handlers, ...found.realtime];
  checkEndpointCollisions(all, config, report);
  warnings.push(...unusedEndpointTables(config, all));
  if (problems.length > 0) throw new DiscoveryError(sortProblems(problems));
  if (all.length === 0) {
    warnings.push({
      file: config.mainPath,
      message:
        'no handlers found: export a function whose first parameter is `ctx: ActionContext` (import type { ActionContext } from "gen-worker")',
    });
  }
  return { manifest: assembleManifest(config, functions, realtime), warnings };
}

async function loadConfig(projectDir: string, cozyTomlPath: string | undefined): Promise<CozyConfig> {
  try {
    return await loadCozyConfig(projectDir, {
      packageVersion: GEN_WORKER_VERSION,
      ...(cozyTomlPath === undefined ? {} : { cozyTomlPath }),
    });
  } catch (error) {
    if (error instanceof ConfigError) throw new DiscoveryError(error.problems);
    throw error;
  }
}

type BuilderOptions = ConstructorParameters<typeof SchemaBuilder>[0];

function describeHandler(handler: Handler, config: CozyConfig, options: BuilderOptions): ManifestFunction {
  const module = projectPath(config, handler.file);
  const typeBase = pascalCase(handler.name);
  const input = describeType(handler.payload.type, handler.payload.node, `${typeBase}Input`, options, config);
  const streaming = handler.output.mode === "incremental";
  const outputName = `${typeBase}${streaming ? "Delta" : "Output"}`;
  const output = describeType(handler.output.type, handler.output.node, outputName, options, config);
  const fn: Omit<ManifestFunction, "export"> = {
    name: handler.name,
    endpoint_name: handler.endpointName,
    module,
    resources: handler.maxConcurrency === undefined ? {} : { max_concurrency: handler.maxConcurrency },
    payload_type: input.location ?? { module, qualname: typeBase },
    payload_schema_sha256: schemaHash(input.schema),
    input_schema: input.schema,
    output_mode: handler.output.mode,
    output_type: output.location ?? { module, qualname: outputName },
    output_schema_sha256: schemaHash(output.schema),
    output_schema: output.schema,
    incremental_output: streaming,
    injection_json: handler.injections.map((injection) => ({
      param: injection.param,
      type: injection.source === "fixed" ? "gen-worker.Model" : "gen-worker.PayloadModel",
      model_ref: { source: injection.source, key: injection.key },
    })),
    required_models: handler.injections.filter((i) => i.source === "fixed").map((i) => i.key),
    payload_repo_selectors: [
      ...new Set(handler.injections.filter((i) => i.source === "payload").map((i) => i.key)),
    ].map((field) => ({ field, kind: "short_key" as const })),
  };
  if (streaming) {
    fn.delta_type = fn.output_type;
    fn.delta_schema_sha256 = fn.output_schema_sha256;
    fn.delta_output_schema = fn.output_schema;
  }
  return {
    ...fn,
    export: handler.exportName,
    ...(handler.description ? { description: handler.description } : {}),
  };
}

function describeRealtimeHandler(handler: RealtimeHandler, config: CozyConfig): RealtimeManifestFunction {
  return {
    name: handler.name,
    endpoint_name: handler.endpointName,
    module: projectPath(config, handler.file),
    export: handler.exportName,
    socket_param: handler.socketParam,
    injection_json: handler.injections.map((injection) => ({
      param: injection.param,
      type: "gen-worker.Model",
      model_ref: { source: "fixed", key: injection.key },
    })),
    required_models: handler.injections.map((injection) => injection.key),
    ...(handler.description ? { description: handler.description } : {}),
  };
}

function describeType(
  type: ts.Type,
  node: ts.Node,
  fallbackName: string,
  options: BuilderOptions,
  config: CozyConfig,
): { schema: JsonSchema; location: TypeLocation | undefined } {
  const builder = new SchemaBuilder(options);
  const { schema, typeName, synthesized } = builder.root(type, { node, path: fallbackName }, fallbackName);
  if (typeName === undefined) return { schema, location: undefined };
  // A name made up for an anonymous type (say `Record<string, never>`) lives with the handler,
  // not in whatever file declares the type it was made from.
  if (synthesized)
    return {
      schema,
      location: { module: projectPath(config, node.getSourceFile().fileName), qualname: typeName },
    };
  const declaration = (type.aliasSymbol ?? type.getSymbol())?.getDeclarations()?.[0];
  const file = declaration?.getSourceFile().fileName;
  const module =
    file === undefined ? projectPath(config, node.getSourceFile().fileName) : typeModule(config, file);
  return { schema, location: { module, qualname: typeName } };
}

function typeModule(config: CozyConfig, file: string): string {
  return isSdkFile(file) ? "gen-worker" : projectPath(config, file);
}

function checkEndpointCollisions(
  handlers: (Handler | RealtimeHandler)[],
  config: CozyConfig,
  report: (node: ts.Node, message: string) => void,
): void {
  const byEndpoint = new Map<string, Handler | RealtimeHandler>();
  for (const handler of handlers) {
    const first = byEndpoint.get(handler.endpointName);
    if (!first) {
      byEndpoint.set(handler.endpointName, handler);
      continue;
    }
    const where = problemAt(first.node, "");
    report(
      handler.node,
      `multiple functions normalize to the same endpoint '${handler.endpointName}': ${first.name} (${projectPath(config, where.file)}:${where.line}) and ${handler.name}; rename one or set @endpoint on it`,
    );
  }
}

function unusedEndpointTables(config: CozyConfig, handlers: (Handler | RealtimeHandler)[]): Problem[] {
  const endpoints = new Set(handlers.map((handler) => handler.endpointName));
  return Object.keys(config.endpoints)
    .filter((name) => !endpoints.has(name))
    .map((name) => ({
      file: config.file,
      message: `[endpoints.${name}.models] matches no handler (endpoints: ${[...endpoints].join(", ") || "none"}); check the name`,
    }));
}

function assembleManifest(
  config: CozyConfig,
  functions: ManifestFunction[],
  realtime: RealtimeManifestFunction[],
): Manifest {
  const modelsByFunction = Object.fromEntries(
    [...functions, ...realtime]
      .map((fn) => [fn.name, keyspaceFor(fn.endpoint_name, config).models] as const)
      .filter(([, models]) => Object.keys(models).length > 0),
  );
  return {
    project_name: config.projectName,
    functions,
    ...(realtime.length > 0 ? { realtime_functions: realtime } : {}),
    ...(Object.keys(modelsByFunction).length > 0 ? { models_by_function: modelsByFunction } : {}),
    ...(Object.keys(config.resources).length > 0 ? { resources: config.resources } : {}),
    runtime: {
      language: "typescript",
      node: NODE_ENGINES,
      gen_worker: GEN_WORKER_VERSION,
      main: config.main,
    },
  };
}

function projectPath(config: CozyConfig, file: string): string {
  return relative(config.dir, file).split(sep).join("/");
}

function pascalCase(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join("");
}

function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort(
    (a, b) =>
      a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
}
