import { ts } from "ts-morph";
import type { ModelSpec } from "../contract/model-spec.js";
import type { CozyConfig } from "../project/cozy-toml.js";
import type { Handler } from "./handlers.js";

/** What the keyspace check reads of a handler; realtime handlers have no payload. */
export type InjectingHandler = Pick<Handler, "name" | "endpointName" | "injections"> & {
  payload?: Handler["payload"];
};

/** The model keys a handler may use: `[endpoints.<endpoint>.models]` when present, else `[models]`. */
export interface Keyspace {
  models: Record<string, ModelSpec>;
  /** The cozy.toml table the keys come from, for messages. */
  table: string;
}

export function keyspaceFor(endpointName: string, config: CozyConfig): Keyspace {
  const perEndpoint = config.endpoints[endpointName];
  if (perEndpoint) return { models: perEndpoint, table: `[endpoints.${endpointName}.models]` };
  return { models: config.models, table: "[models]" };
}

/**
 * Checks a handler's injections against its keyspace: every fixed key must be defined, and every
 * payload-selected model must name a string field of the payload whose literal values, if any,
 * are keys. Problems go to `report`; the return value says whether all was well.
 */
export function checkInjections(
  handler: InjectingHandler,
  keyspace: Keyspace,
  checker: ts.TypeChecker,
  report: (node: ts.Node, message: string) => void,
): boolean {
  const keys = Object.keys(keyspace.models);
  const known =
    keys.length > 0 ? `defined keys: ${keys.join(", ")}` : `${keyspace.table} is empty or missing`;
  let ok = true;
  for (const injection of handler.injections) {
    if (injection.source === "fixed") {
      if (!(injection.key in keyspace.models)) {
        ok = false;
        report(
          injection.node,
          `endpoint '${handler.endpointName}' requires model key '${injection.key}', which cozy.toml does not define: add \`${injection.key} = "hf:owner/repo"\` to ${keyspace.table} (${known})`,
        );
      }
      continue;
    }
    ok = checkPayloadSelector(handler, injection.key, injection.node, keyspace, known, checker, report) && ok;
  }
  return ok;
}

function checkPayloadSelector(
  handler: InjectingHandler,
  field: string,
  node: ts.Node,
  keyspace: Keyspace,
  known: string,
  checker: ts.TypeChecker,
  report: (node: ts.Node, message: string) => void,
): boolean {
  if (Object.keys(keyspace.models).length === 0) {
    report(
      node,
      `handler '${handler.name}' selects a model by payload field '${field}', but ${keyspace.table} in cozy.toml defines no keys to choose from: add them`,
    );
    return false;
  }
  if (!handler.payload) {
    report(node, `handler '${handler.name}' has no payload for a model to be selected by: use Model<"key">`);
    return false;
  }
  const property = handler.payload.type.getProperty(field);
  if (!property) {
    report(
      node,
      `handler '${handler.name}' selects a model by payload field '${field}', which its payload type ${checker.typeToString(handler.payload.type)} does not have: add \`${field}: string\` to it`,
    );
    return false;
  }
  const type = checker.getNonNullableType(checker.getTypeOfSymbol(property));
  const members = type.isUnion() ? type.types : [type];
  if (!members.every((member) => member.flags & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral))) {
    report(
      node,
      `payload field '${field}' selects a model, so it must be a string (a key of ${keyspace.table}), not ${checker.typeToString(type)}`,
    );
    return false;
  }
  const unknown = members
    .filter((member): member is ts.StringLiteralType => member.isStringLiteral())
    .map((member) => member.value)
    .filter((value) => !(value in keyspace.models));
  if (unknown.length > 0) {
    report(
      node,
      `payload field '${field}' allows ${unknown.map((v) => `"${v}"`).join(", ")}, not defined in cozy.toml ${keyspace.table} (${known})`,
    );
    return false;
  }
  return true;
}
