/**
 * Realtime handlers: `async (ctx: ActionContext, socket: RealtimeSocket, ...models: Model<"key">[])`.
 * The rules are the Python SDK's `@worker_websocket` ones: the context first, the socket second, then
 * only model injections; no payload (a session's input arrives as frames).
 */
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
import { isSdkType } from "./sdk-types.js";

/** A realtime handler as found in the source: what its manifest entry needs. */
export interface RealtimeHandler {
  name: string;
  exportName: string;
  endpointName: string;
  description?: string;
  /** Where to point problems about the handler as a whole (its name). */
  node: ts.Node;
  file: string;
  socketParam: string;
  /** Only `Model<"key">` injections: a session has no payload to pick a model from. */
  injections: Injection[];
}

/** The position of the first parameter typed as gen-worker's `RealtimeSocket`, or undefined. */
export function socketParamIndex(fn: HandlerFunction, checker: ts.TypeChecker): number | undefined {
  const index = fn.parameters.findIndex(
    (param) =>
      param.type !== undefined &&
      isSdkType(checker.getTypeFromTypeNode(param.type), "RealtimeSocket", checker),
  );
  return index < 0 ? undefined : index;
}

export interface RealtimeCandidate {
  fn: HandlerFunction;
  name: string;
  nameNode: ts.Node;
  declaration: ts.Node;
  exportNames: string[];
  /** The position of its `RealtimeSocket` parameter. */
  socketIndex: number;
}

const SOCKET_SHAPE = "(ctx: ActionContext, socket: RealtimeSocket, ...models)";

/** Checks a handler that takes a `RealtimeSocket`; every problem is reported, undefined then returned. */
export function analyzeRealtimeHandler(
  candidate: RealtimeCandidate,
  checker: ts.TypeChecker,
  report: Report,
  warn: Report,
): RealtimeHandler | undefined {
  const { fn, name, nameNode, socketIndex } = candidate;
  let failed = false;
  const fail = (node: ts.Node, message: string) => {
    failed = true;
    report(node, message);
  };
  const socketParam = fn.parameters[socketIndex];
  if (socketIndex !== 1 || !socketParam) {
    fail(
      socketParam ?? nameNode,
      `realtime handler '${name}' takes RealtimeSocket as parameter ${socketIndex + 1}: it must be the second parameter, ${SOCKET_SHAPE}`,
    );
    return undefined;
  }
  const injections = fn.parameters
    .slice(2)
    .map((param) => realtimeInjection(param, name, checker, fail))
    .filter((injection): injection is Injection => injection !== undefined);
  if (!isAsync(fn, checker)) {
    fail(
      fn.type ?? nameNode,
      `realtime handler '${name}' must be async: write \`export async function ${name}${SOCKET_SHAPE}: Promise<void>\``,
    );
  }
  const symbol = checker.getSymbolAtLocation(nameNode);
  const doc = symbol ? readDoc(symbol, checker) : { tags: [] };
  const endpointName = endpointFromDoc(doc.tags, name, nameNode, fail);
  if (doc.tags.some((tag) => tag.name === "maxConcurrency")) {
    warn(
      nameNode,
      `@maxConcurrency limits runs of task handlers; realtime handler '${name}' ignores it (sessions are not counted against it)`,
    );
  }
  if (failed) return undefined;
  const handler: RealtimeHandler = {
    name,
    exportName: preferredExportName(name, candidate.exportNames),
    endpointName,
    node: nameNode,
    file: candidate.declaration.getSourceFile().fileName,
    socketParam: socketParam.name.getText(),
    injections,
  };
  if (doc.description) handler.description = doc.description;
  return handler;
}

function realtimeInjection(
  param: ts.ParameterDeclaration,
  handler: string,
  checker: ts.TypeChecker,
  fail: Report,
): Injection | undefined {
  const paramName = param.name.getText();
  const usage = `after the socket, realtime handlers take only model injections: \`${paramName}: Model<"key">\``;
  if (!param.type) {
    fail(param, `realtime handler '${handler}': parameter '${paramName}' has no type; ${usage}`);
    return undefined;
  }
  const type = checker.getTypeFromTypeNode(param.type);
  if (isSdkType(type, "PayloadModel", checker)) {
    fail(
      param.type,
      `realtime handler '${handler}': '${paramName}' is a PayloadModel, but a realtime session has no payload to pick a model from: inject \`${paramName}: Model<"key">\` (the scheduler binds the model through required_variant_refs)`,
    );
    return undefined;
  }
  if (!isSdkType(type, "Model", checker)) {
    fail(
      param,
      `realtime handler '${handler}': parameter '${paramName}' has type ${checker.typeToString(type)}, but a realtime handler takes no payload (its input arrives as frames); ${usage}`,
    );
    return undefined;
  }
  const key = injectionKey(type, checker);
  if (key === undefined) {
    fail(
      param.type,
      `realtime handler '${handler}': ${paramName} needs the model key from cozy.toml [models] as a string literal, e.g. Model<"vad">`,
    );
    return undefined;
  }
  return { param: paramName, source: "fixed", key, node: param.type };
}

/** `async`, or a declared `Promise<...>` return type. */
function isAsync(fn: HandlerFunction, checker: ts.TypeChecker): boolean {
  if (fn.type) return checker.getTypeFromTypeNode(fn.type).getSymbol()?.getName() === "Promise";
  return (ts.getCombinedModifierFlags(fn) & ts.ModifierFlags.Async) !== 0;
}
