import { ts } from "ts-morph";
import {
  endpointFromDoc,
  type HandlerFunction,
  type Injection,
  injectionKey,
  preferredExportName,
  type Report,
} from "./handler-parts.js";
import { readDoc } from "./jsdoc.js";
import { analyzeRealtimeHandler, type RealtimeHandler, socketParamIndex } from "./realtime-handlers.js";
import { isSdkType } from "./sdk-types.js";

export type { Injection } from "./handler-parts.js";

/** A handler as found in the source: everything the manifest needs, still as TypeScript types. */
export interface Handler {
  name: string;
  exportName: string;
  endpointName: string;
  description?: string;
  maxConcurrency?: number;
  /** Where to point problems about the handler as a whole (its name). */
  node: ts.Node;
  file: string;
  payload: { type: ts.Type; node: ts.Node; param: string };
  output: { mode: "single" | "incremental"; type: ts.Type; node: ts.Node };
  injections: Injection[];
}

/** The handlers of a project: task handlers and realtime handlers, each in source order. */
export interface FoundHandlers {
  handlers: Handler[];
  realtime: RealtimeHandler[];
}

const STREAM_TYPES = new Set([
  "AsyncIterable",
  "AsyncIterableIterator",
  "AsyncGenerator",
  "Iterable",
  "IterableIterator",
  "Generator",
]);

const PAYLOAD_HINT =
  "for example `input: { prompt: string }` (write `input: Record<string, never>` for none)";

/**
 * Every handler the entry module exports, directly or through re-exports, once each however
 * often it is exported, in source order (by file, then position). A handler whose second parameter
 * is a `RealtimeSocket` is a realtime handler.
 */
export function findHandlers(
  entry: ts.SourceFile,
  checker: ts.TypeChecker,
  report: Report,
  warn: Report,
): FoundHandlers {
  const found: FoundHandlers = { handlers: [], realtime: [] };
  const moduleSymbol = checker.getSymbolAtLocation(entry);
  if (!moduleSymbol) return found;
  const exportNamesByDeclaration = new Map<ts.Node, string[]>();
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declaration = target.valueDeclaration;
    if (!declaration || !handlerFunction(declaration)) continue;
    const names = exportNamesByDeclaration.get(declaration) ?? [];
    names.push(exported.getName());
    exportNamesByDeclaration.set(declaration, names);
  }
  for (const [declaration, exportNames] of sortBySource(exportNamesByDeclaration)) {
    const handler = analyzeHandler(declaration, exportNames, checker, report, warn);
    if (handler && "socketParam" in handler) found.realtime.push(handler);
    else if (handler) found.handlers.push(handler);
  }
  return found;
}

function analyzeHandler(
  declaration: ts.Node,
  exportNames: string[],
  checker: ts.TypeChecker,
  report: Report,
  warn: Report,
): Handler | RealtimeHandler | undefined {
  const fn = handlerFunction(declaration);
  if (!fn) return undefined;
  const nameNode = declarationName(declaration);
  if (!nameNode) {
    if (fn.parameters.some((param) => isActionContextParam(param, checker))) {
      report(
        fn,
        "this default-exported handler has no name: name it (export default async function detect(ctx, input) ...)",
      );
    }
    return undefined;
  }
  const name = nameNode.getText();
  if (!isHandlerShaped(fn, name, nameNode, checker, report)) {
    if (looksLikeForgottenHandler(fn, checker)) {
      warn(
        nameNode,
        `'${name}' is exported like a handler but is not one: its first parameter is not \`ctx: ActionContext\`, so it is no endpoint; add \`ctx: ActionContext\` first (import type { ActionContext } from "gen-worker"), or export it from another module if it is a helper`,
      );
    }
    return undefined;
  }
  const socketIndex = socketParamIndex(fn, checker);
  if (socketIndex !== undefined) {
    return analyzeRealtimeHandler(
      { fn, name, nameNode, declaration, exportNames, socketIndex },
      checker,
      report,
      warn,
    );
  }

  let failed = false;
  const fail = (node: ts.Node, message: string) => {
    failed = true;
    report(node, message);
  };

  const payloadParam = fn.parameters[1];
  if (!payloadParam) {
    fail(nameNode, `handler '${name}' has no payload parameter: add one after ctx, ${PAYLOAD_HINT}`);
    return undefined;
  }
  const payload = analyzePayload(payloadParam, name, checker, fail);
  const injections = fn.parameters
    .slice(2)
    .map((param) => analyzeInjection(param, name, checker, fail))
    .filter((injection): injection is Injection => injection !== undefined);
  const output = analyzeOutput(fn, name, nameNode, checker, fail);
  const symbol = checker.getSymbolAtLocation(nameNode);
  const doc = symbol ? readDoc(symbol, checker) : { tags: [] };
  const endpointName = endpointFromDoc(doc.tags, name, nameNode, fail);
  const maxConcurrency = maxConcurrencyFromDoc(doc.tags, nameNode, fail);
  if (failed || !payload || !output) return undefined;

  const handler: Handler = {
    name,
    exportName: preferredExportName(name, exportNames),
    endpointName,
    node: nameNode,
    file: declaration.getSourceFile().fileName,
    payload,
    output,
    injections,
  };
  if (doc.description) handler.description = doc.description;
  if (maxConcurrency !== undefined) handler.maxConcurrency = maxConcurrency;
  return handler;
}

/**
 * Whether an exported function is meant as a handler: its first parameter is gen-worker's
 * `ActionContext`. Near misses (the context elsewhere, an `ActionContext` from somewhere else,
 * an untyped `ctx`) are reported rather than silently ignored.
 */
function isHandlerShaped(
  fn: HandlerFunction,
  name: string,
  nameNode: ts.Node,
  checker: ts.TypeChecker,
  report: Report,
): boolean {
  const contextIndex = fn.parameters.findIndex((param) => isActionContextParam(param, checker));
  if (contextIndex === 0) return true;
  if (contextIndex > 0) {
    report(
      fn.parameters[contextIndex] ?? nameNode,
      `handler '${name}' takes ActionContext as parameter ${contextIndex + 1}: it must be the first parameter, (ctx: ActionContext, input: ...)`,
    );
    return false;
  }
  const first = fn.parameters[0];
  if (!first) return false;
  const typeText = first.type?.getText() ?? "";
  if (/\bActionContext\b/.test(typeText)) {
    report(
      first,
      `'${name}' takes an ActionContext that is not gen-worker's: import it with \`import type { ActionContext } from "gen-worker"\``,
    );
  } else if (!first.type && /^(ctx|context)$/.test(first.name.getText())) {
    report(
      first,
      `'${name}' has an untyped first parameter '${first.name.getText()}': type it \`${first.name.getText()}: ActionContext\` (import type { ActionContext } from "gen-worker")`,
    );
  }
  return false;
}

/**
 * An async function whose first parameter is an object type, as a payload is: most likely a handler
 * whose author forgot the context, which would otherwise silently not be an endpoint.
 */
function looksLikeForgottenHandler(fn: HandlerFunction, checker: ts.TypeChecker): boolean {
  const first = fn.parameters[0];
  if (!first?.type || fn.parameters.length > 3) return false;
  const isAsync =
    ts.getCombinedModifierFlags(fn) & ts.ModifierFlags.Async ||
    (fn.type !== undefined && /^(Promise|AsyncGenerator|AsyncIterable)\b/.test(fn.type.getText()));
  if (!isAsync) return false;
  const type = checker.getTypeFromTypeNode(first.type);
  return (
    Boolean(type.flags & ts.TypeFlags.Object) && !checker.isArrayType(type) && !checker.isTupleType(type)
  );
}

function isActionContextParam(param: ts.ParameterDeclaration, checker: ts.TypeChecker): boolean {
  return (
    param.type !== undefined && isSdkType(checker.getTypeFromTypeNode(param.type), "ActionContext", checker)
  );
}

function analyzePayload(
  param: ts.ParameterDeclaration,
  handler: string,
  checker: ts.TypeChecker,
  fail: Report,
): Handler["payload"] | undefined {
  const paramName = param.name.getText();
  if (!param.type) {
    fail(param, `handler '${handler}': payload parameter '${paramName}' has no type: ${PAYLOAD_HINT}`);
    return undefined;
  }
  const type = checker.getTypeFromTypeNode(param.type);
  if (isSdkType(type, "Model", checker) || isSdkType(type, "PayloadModel", checker)) {
    fail(
      param,
      `handler '${handler}': the second parameter must be the payload; put model injections after it`,
    );
    return undefined;
  }
  const isObject =
    (type.flags & ts.TypeFlags.Object || type.isIntersection()) &&
    !checker.isArrayType(type) &&
    !checker.isTupleType(type);
  if (!isObject) {
    const shown = checker.typeToString(type);
    // `any` and `unknown` cannot be described even wrapped: the field needs a real type.
    const fix =
      type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)
        ? `give it an object type that lists its fields, ${PAYLOAD_HINT}`
        : `wrap it, for example \`input: { value: ${shown} }\``;
    fail(param.type, `handler '${handler}': the payload must be an object type, not ${shown}: ${fix}`);
    return undefined;
  }
  return { type, node: param.type, param: paramName };
}

function analyzeInjection(
  param: ts.ParameterDeclaration,
  handler: string,
  checker: ts.TypeChecker,
  fail: Report,
): Injection | undefined {
  const paramName = param.name.getText();
  const usage = `after the payload, handlers take only model injections: \`${paramName}: Model<"key">\` or \`${paramName}: PayloadModel<"field">\``;
  if (!param.type) {
    fail(param, `handler '${handler}': parameter '${paramName}' has no type; ${usage}`);
    return undefined;
  }
  const type = checker.getTypeFromTypeNode(param.type);
  const source = isSdkType(type, "PayloadModel", checker)
    ? "payload"
    : isSdkType(type, "Model", checker)
      ? "fixed"
      : undefined;
  if (!source) {
    fail(
      param,
      `handler '${handler}': parameter '${paramName}' has type ${checker.typeToString(type)}; ${usage}`,
    );
    return undefined;
  }
  const key = injectionKey(type, checker);
  if (key === undefined) {
    const example = source === "fixed" ? 'Model<"ocr-det">' : 'PayloadModel<"model">';
    const what =
      source === "fixed" ? "model key from cozy.toml [models]" : "payload field that names the model";
    fail(
      param.type,
      `handler '${handler}': ${paramName} needs the ${what} as a string literal, e.g. ${example}`,
    );
    return undefined;
  }
  return { param: paramName, source, key, node: param.type };
}

function analyzeOutput(
  fn: HandlerFunction,
  handler: string,
  nameNode: ts.Node,
  checker: ts.TypeChecker,
  fail: Report,
): Handler["output"] | undefined {
  if (!fn.type) {
    fail(
      nameNode,
      `handler '${handler}' has no return type: annotate it, e.g. \`: Promise<Output>\`, or \`: AsyncGenerator<Delta>\` to stream`,
    );
    return undefined;
  }
  const declared = checker.getTypeFromTypeNode(fn.type);
  const type = checker.getAwaitedType(declared) ?? declared;
  const delta = streamedType(type, checker);
  if (delta) return { mode: "incremental", type: delta, node: fn.type };
  if (type.flags & (ts.TypeFlags.Void | ts.TypeFlags.Undefined)) {
    fail(fn.type, `handler '${handler}' returns nothing: return the result as data (an object or a value)`);
    return undefined;
  }
  return { mode: "single", type, node: fn.type };
}

/** The delta type of a streaming return type (`AsyncGenerator<T>`, `Iterable<T>`, ...), else undefined. */
export function streamedType(type: ts.Type, checker: ts.TypeChecker): ts.Type | undefined {
  const symbol = type.getSymbol();
  if (!symbol || !STREAM_TYPES.has(symbol.getName()) || type.aliasSymbol) return undefined;
  return checker.getTypeArguments(type as ts.TypeReference)[0];
}

function maxConcurrencyFromDoc(
  tags: { name: string; text: string }[],
  node: ts.Node,
  fail: Report,
): number | undefined {
  const tag = tags.find((t) => t.name === "maxConcurrency");
  if (!tag) return undefined;
  const value = Number(tag.text);
  if (tag.text === "" || !Number.isInteger(value) || value < 1) {
    fail(node, `@maxConcurrency "${tag.text}" must be a whole number of 1 or more, e.g. @maxConcurrency 2`);
    return undefined;
  }
  return value;
}

function handlerFunction(declaration: ts.Node): HandlerFunction | undefined {
  if (ts.isFunctionDeclaration(declaration)) return declaration.body ? declaration : undefined;
  if (ts.isVariableDeclaration(declaration) && declaration.initializer) {
    const init = declaration.initializer;
    if (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) return init;
  }
  return undefined;
}

function declarationName(declaration: ts.Node): ts.Node | undefined {
  if (ts.isFunctionDeclaration(declaration) || ts.isVariableDeclaration(declaration)) return declaration.name;
  return undefined;
}

function sortBySource<T>(map: Map<ts.Node, T>): [ts.Node, T][] {
  return [...map].sort(([a], [b]) => {
    const byFile = a.getSourceFile().fileName.localeCompare(b.getSourceFile().fileName);
    return byFile !== 0 ? byFile : a.getStart() - b.getStart();
  });
}
