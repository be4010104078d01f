/** What task handlers (handlers.ts) and realtime handlers (realtime-handlers.ts) share. */
import { ts } from "ts-morph";
import { slugify } from "../project/slug.js";

export interface Injection {
  param: string;
  source: "fixed" | "payload";
  /** The model key (fixed) or the payload field that names the key (payload). */
  key: string;
  node: ts.Node;
}

export type Report = (node: ts.Node, message: string) => void;

export type HandlerFunction = ts.FunctionDeclaration | ts.ArrowFunction | ts.FunctionExpression;

export type DocTag = { name: string; text: string };

export function endpointFromDoc(tags: DocTag[], name: string, node: ts.Node, fail: Report): string {
  const override = tags.find((tag) => tag.name === "endpoint");
  if (!override) return slugify(name);
  const slug = slugify(override.text);
  if (override.text === "" || slug !== override.text) {
    fail(
      node,
      `handler '${name}' has @endpoint "${override.text}": an endpoint name must be a slug${slug ? `; write @endpoint ${slug}` : " of a-z, 0-9, '-' and '.'"}`,
    );
  }
  return slug;
}

/** The export name to load the handler by: its own name when exported under it, else the first. */
export function preferredExportName(name: string, exportNames: string[]): string {
  return exportNames.includes(name) ? name : ([...exportNames].sort()[0] ?? name);
}

/** The key literal of `Model<"key">` / `PayloadModel<"field">`, or undefined when it is not one. */
export function injectionKey(type: ts.Type, checker: ts.TypeChecker): string | undefined {
  const [argument] =
    (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference
      ? checker.getTypeArguments(type as ts.TypeReference)
      : [];
  return argument?.isStringLiteral() ? argument.value : undefined;
}
