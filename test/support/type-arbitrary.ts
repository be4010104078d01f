/**
 * An oracle for "which JSON values does this TypeScript type admit", built from the TypeScript
 * type itself (never from a generated JSON Schema), for property tests of the schema generator.
 *
 * {@link buildTypeModel} reads a `ts.Type` (and the JSDoc constraint tags of the properties it
 * passes through) into a small model; from the model come a fast-check arbitrary of valid JSON
 * values ({@link validValues}), an independent matcher ({@link admits}) and invalid mutations of a
 * valid value, each with the reason it is invalid ({@link mutationsOf}, {@link invalidValues}).
 */
import fc from "fast-check";
import { ts } from "ts-morph";
import { streamedType } from "../../src/discovery/handlers.js";
import { SDK_ENTRY } from "../../src/discovery/program.js";

/** Thrown for a type the oracle does not model, so that no payload type is silently skipped. */
export class UnsupportedTypeError extends Error {
  override name = "UnsupportedTypeError";
}

export interface StringNode {
  kind: "string";
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

export interface NumberNode {
  kind: "number";
  integer: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

export interface LiteralNode {
  kind: "literal";
  value: string | number | boolean | null;
}

export interface ArrayNode {
  kind: "array";
  items: TypeNode;
  minItems?: number;
  maxItems?: number;
}

/** `[...head, ...optional?, ...rest[], ...tail]`: TypeScript's tuple shapes. */
export interface TupleNode {
  kind: "tuple";
  head: TypeNode[];
  optional: TypeNode[];
  rest?: TypeNode;
  tail: TypeNode[];
}

export interface PropertyNode {
  name: string;
  node: TypeNode;
  /** `name?:` or a type that includes `undefined`. */
  optional: boolean;
  /** Has `@default`: may be absent from a payload. */
  hasDefault: boolean;
  defaultValue?: unknown;
}

export interface ObjectNode {
  kind: "object";
  name?: string;
  properties: PropertyNode[];
  /** The value type of a string index signature (`Record<string, T>`). */
  index?: TypeNode;
  /** `Record<string, never>`: no keys beyond the declared properties. */
  closed?: boolean;
}

export interface UnionNode {
  kind: "union";
  name?: string;
  members: TypeNode[];
}

export type TypeNode =
  | StringNode
  | NumberNode
  | { kind: "boolean" }
  | LiteralNode
  | ArrayNode
  | TupleNode
  | ObjectNode
  | UnionNode;

export type JsonKind = "string" | "number" | "boolean" | "null" | "array" | "object";

const JSON_KINDS: readonly JsonKind[] = ["string", "number", "boolean", "null", "array", "object"];

/** The formats the value generator knows how to produce (and the matcher how to check). */
export const SUPPORTED_FORMATS = [
  "date-time",
  "date",
  "time",
  "email",
  "uri",
  "url",
  "uuid",
  "hostname",
  "ipv4",
] as const;

// ---------------------------------------------------------------------------------------------
// From a TypeScript type to the model
// ---------------------------------------------------------------------------------------------

/** The (declared) types of a handler's payload and result, read with the raw checker. */
export interface HandlerTypes {
  payload: ts.Type;
  output: { mode: "single" | "incremental"; type: ts.Type } | undefined;
}

/** Finds the handler exported from `entry` as `exportName` and reads its payload and output types. */
export function handlerTypes(
  entry: ts.SourceFile,
  checker: ts.TypeChecker,
  exportName: string,
): HandlerTypes {
  const moduleSymbol = checker.getSymbolAtLocation(entry);
  const exported =
    moduleSymbol && checker.getExportsOfModule(moduleSymbol).find((s) => s.getName() === exportName);
  if (!exported) throw new Error(`${entry.fileName} exports no '${exportName}'`);
  const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const declaration = target.valueDeclaration;
  let fn: ts.SignatureDeclaration | undefined;
  if (declaration && ts.isFunctionDeclaration(declaration)) fn = declaration;
  else if (declaration && ts.isVariableDeclaration(declaration) && declaration.initializer) {
    const init = declaration.initializer;
    if (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) fn = init;
  }
  const payloadNode = fn?.parameters[1]?.type;
  if (!fn || !payloadNode)
    throw new Error(`'${exportName}' is not a function with a typed payload parameter`);
  const payload = checker.getTypeFromTypeNode(payloadNode);
  if (!fn.type) return { payload, output: undefined };
  const declared = checker.getTypeFromTypeNode(fn.type);
  const result = checker.getAwaitedType(declared) ?? declared;
  const delta = streamedType(result, checker);
  if (delta) return { payload, output: { mode: "incremental", type: delta } };
  return { payload, output: { mode: "single", type: result } };
}

/**
 * Reads a TypeScript type into the oracle's model. Named object and union types become shared
 * nodes, so a recursive type becomes a cyclic graph. Throws {@link UnsupportedTypeError} for
 * anything the oracle does not model.
 */
export function buildTypeModel(type: ts.Type, checker: ts.TypeChecker, program: ts.Program): TypeNode {
  return new ModelBuilder(checker, program).build(type, "$");
}

class ModelBuilder {
  private readonly shared = new Map<ts.Type, TypeNode>();

  constructor(
    private readonly checker: ts.TypeChecker,
    private readonly program: ts.Program,
  ) {}

  build(type: ts.Type, path: string): TypeNode {
    const existing = this.shared.get(type);
    if (existing) return existing;
    const { checker } = this;
    const flags = type.flags;
    const text = () => checker.typeToString(type);
    const unsupported = (what: string) =>
      new UnsupportedTypeError(`${path}: the oracle does not model ${what} (${text()})`);

    if (this.isAsset(type)) return this.remember(type, assetNode());
    if (isIntegerBrand(type)) return { kind: "number", integer: true };
    if (flags & ts.TypeFlags.Any) throw unsupported("`any`");
    if (flags & ts.TypeFlags.Unknown) throw unsupported("`unknown`");
    if (flags & ts.TypeFlags.Never) throw unsupported("`never`");
    if (flags & (ts.TypeFlags.BigIntLike | ts.TypeFlags.ESSymbolLike)) throw unsupported("bigint or symbol");
    if (flags & (ts.TypeFlags.Void | ts.TypeFlags.Undefined)) throw unsupported("void/undefined");
    if (flags & (ts.TypeFlags.TemplateLiteral | ts.TypeFlags.StringMapping)) {
      throw unsupported("template literal types");
    }
    if (flags & ts.TypeFlags.TypeParameter) throw unsupported("unresolved type parameters");
    if (flags & ts.TypeFlags.NonPrimitive) throw unsupported("`object`");
    if (flags & ts.TypeFlags.String) return { kind: "string" };
    if (flags & ts.TypeFlags.Number) return { kind: "number", integer: false };
    if (flags & ts.TypeFlags.Boolean) return { kind: "boolean" };
    if (flags & ts.TypeFlags.Null) return { kind: "literal", value: null };
    if (flags & ts.TypeFlags.BooleanLiteral) {
      return { kind: "literal", value: (type as { intrinsicName?: string }).intrinsicName === "true" };
    }
    if (type.isStringLiteral() || type.isNumberLiteral()) return { kind: "literal", value: type.value };
    if (type.isUnion()) return this.union(type, path);
    if (type.isIntersection()) {
      if (!type.types.every((part) => part.flags & ts.TypeFlags.Object)) {
        throw unsupported("intersections other than the Integer brand and of object types");
      }
      return this.object(type, path);
    }
    if (flags & ts.TypeFlags.Object) {
      if (checker.isArrayType(type)) {
        const [element] = checker.getTypeArguments(type as ts.TypeReference);
        if (!element) throw unsupported("arrays without an element type");
        return { kind: "array", items: this.build(element, `${path}[]`) };
      }
      if (checker.isTupleType(type)) return this.tuple(type as ts.TypeReference, path);
      if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) {
        throw unsupported("functions and constructors");
      }
      const symbol = type.getSymbol();
      if (symbol && symbol.flags & ts.SymbolFlags.Class) throw unsupported("class instances");
      if (symbol && this.isLibSymbol(symbol) && !["__type", "__object"].includes(symbol.getName())) {
        throw unsupported(`the library type ${symbol.getName()}`);
      }
      return this.object(type, path);
    }
    throw unsupported("this kind of type");
  }

  private remember<T extends TypeNode>(type: ts.Type, node: T): T {
    this.shared.set(type, node);
    return node;
  }

  private union(type: ts.UnionType, path: string): TypeNode {
    const present = type.types.filter((member) => !(member.flags & ts.TypeFlags.Undefined));
    const only = present[0];
    if (present.length === 1 && only) return this.build(only, path);
    const node: UnionNode = { kind: "union", members: [] };
    const name = this.nameOf(type);
    if (name) node.name = name;
    this.remember(type, node);
    node.members = present.map((member) => this.build(member, path));
    return node;
  }

  private tuple(type: ts.TypeReference, path: string): TupleNode {
    const target = type.target as ts.TupleType;
    const elements = this.checker.getTypeArguments(type);
    const node: TupleNode = { kind: "tuple", head: [], optional: [], tail: [] };
    elements.forEach((element, index) => {
      const flag = target.elementFlags[index] ?? ts.ElementFlags.Required;
      const elementPath = `${path}[${index}]`;
      if (flag & ts.ElementFlags.Variadic) {
        throw new UnsupportedTypeError(`${elementPath}: the oracle does not model variadic tuple elements`);
      }
      if (flag & ts.ElementFlags.Rest) {
        // A rest element's type argument is the element type (`number` for `...number[]`).
        node.rest = this.build(element, `${elementPath}...`);
      } else if (flag & ts.ElementFlags.Optional) {
        node.optional.push(this.build(element, elementPath));
      } else if (node.rest) {
        node.tail.push(this.build(element, elementPath));
      } else {
        node.head.push(this.build(element, elementPath));
      }
    });
    return node;
  }

  private object(type: ts.Type, path: string): ObjectNode {
    const { checker } = this;
    const node: ObjectNode = { kind: "object", properties: [] };
    const name = this.nameOf(type);
    if (name) node.name = name;
    this.remember(type, node);
    const here = name ?? path;
    for (const property of checker.getPropertiesOfType(type)) {
      const propertyName = property.getName();
      const propertyPath = `${here}.${propertyName}`;
      if (property.flags & ts.SymbolFlags.Method) {
        throw new UnsupportedTypeError(`${propertyPath}: the oracle does not model methods`);
      }
      const propertyType = checker.getTypeOfSymbol(property);
      const optional =
        (property.flags & ts.SymbolFlags.Optional) !== 0 ||
        (propertyType.isUnion() && propertyType.types.some((t) => t.flags & ts.TypeFlags.Undefined));
      const tags = property
        .getJsDocTags(checker)
        .map((tag) => ({ name: tag.name, text: ts.displayPartsToString(tag.text ?? []).trim() }));
      const built = this.build(propertyType, propertyPath);
      const constrained = applyTags(built, tags, propertyPath);
      const entry: PropertyNode = { name: propertyName, node: constrained.node, optional, hasDefault: false };
      if (constrained.hasDefault) {
        entry.hasDefault = true;
        entry.defaultValue = constrained.defaultValue;
      }
      node.properties.push(entry);
    }
    for (const info of checker.getIndexInfosOfType(type)) {
      if (!(info.keyType.flags & ts.TypeFlags.String)) {
        throw new UnsupportedTypeError(`${here}: the oracle models only string index signatures`);
      }
      if (info.type.flags & ts.TypeFlags.Never) node.closed = true;
      else node.index = this.build(info.type, `${here}[string]`);
    }
    return node;
  }

  private isAsset(type: ts.Type): boolean {
    const sdkDir = SDK_ENTRY.slice(0, SDK_ENTRY.lastIndexOf("/") + 1);
    return [type.aliasSymbol, type.getSymbol()].some(
      (symbol) =>
        symbol?.getName() === "Asset" &&
        (symbol.getDeclarations() ?? []).some((decl) => decl.getSourceFile().fileName.startsWith(sdkDir)),
    );
  }

  private nameOf(type: ts.Type): string | undefined {
    const symbol = type.aliasSymbol ?? type.getSymbol();
    const name = symbol?.getName();
    return name && name !== "__type" && name !== "__object" ? name : undefined;
  }

  private isLibSymbol(symbol: ts.Symbol): boolean {
    const declarations = symbol.getDeclarations() ?? [];
    return (
      declarations.length > 0 &&
      declarations.every((decl) => this.program.isSourceFileDefaultLibrary(decl.getSourceFile()))
    );
  }
}

/** `number & { "~integer"?: never }`, however it is spelt. */
function isIntegerBrand(type: ts.Type): boolean {
  return (
    type.isIntersection() &&
    type.types.some((part) => part.flags & ts.TypeFlags.Number) &&
    type.types.some((part) => part.getProperty("~integer") !== undefined)
  );
}

/** The wire form of gen-worker's `Asset` (snake_case, data fields only). */
function assetNode(): ObjectNode {
  const nullableString = (): TypeNode => ({
    kind: "union",
    members: [{ kind: "string" }, { kind: "literal", value: null }],
  });
  const optional = (name: string, node: TypeNode): PropertyNode => ({
    name,
    node,
    optional: true,
    hasDefault: false,
  });
  return {
    kind: "object",
    name: "Asset",
    properties: [
      { name: "ref", node: { kind: "string", minLength: 1 }, optional: false, hasDefault: false },
      optional("owner", nullableString()),
      optional("local_path", nullableString()),
      optional("mime_type", nullableString()),
      optional("size_bytes", {
        kind: "union",
        members: [
          { kind: "number", integer: true, minimum: 0 },
          { kind: "literal", value: null },
        ],
      }),
      optional("sha256", nullableString()),
    ],
  };
}

interface Tag {
  name: string;
  text: string;
}

const NUMBER_TAGS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] as const;

/**
 * Applies a property's JSDoc constraint tags to (a copy of) its node. On `T | null` they apply
 * to `T`. A tag that does not fit the type throws: discovery rejects such a payload.
 */
function applyTags(
  node: TypeNode,
  tags: Tag[],
  path: string,
): { node: TypeNode; hasDefault: boolean; defaultValue?: unknown } {
  let result: TypeNode = node;
  let hasDefault = false;
  let defaultValue: unknown;
  const misfit = (tag: Tag) =>
    new UnsupportedTypeError(`${path}: @${tag.name} does not apply to a ${describeNode(node)}`);
  // Copies the constrained node (shared nodes stay pristine); on `T | null` rebuilds the union.
  const target = (tag: Tag, kind: TypeNode["kind"]): TypeNode => {
    if (result.kind === kind) {
      result = { ...result } as TypeNode;
      return result;
    }
    if (result.kind === "union") {
      const nonNull = result.members.filter((m) => !(m.kind === "literal" && m.value === null));
      const only = nonNull[0];
      if (nonNull.length === 1 && only && only.kind === kind) {
        const copy = { ...only } as TypeNode;
        result = { ...result, members: result.members.map((m) => (m === only ? copy : m)) };
        return copy;
      }
    }
    throw misfit(tag);
  };
  for (const tag of tags) {
    const value = Number(tag.text);
    if ((NUMBER_TAGS as readonly string[]).includes(tag.name)) {
      const number = target(tag, "number") as NumberNode;
      number[tag.name as (typeof NUMBER_TAGS)[number]] = value;
    } else if (tag.name === "integer") {
      (target(tag, "number") as NumberNode).integer = true;
    } else if (tag.name === "minLength" || tag.name === "maxLength") {
      (target(tag, "string") as StringNode)[tag.name] = value;
    } else if (tag.name === "pattern") {
      (target(tag, "string") as StringNode).pattern = tag.text;
    } else if (tag.name === "format") {
      if (!(SUPPORTED_FORMATS as readonly string[]).includes(tag.text)) {
        throw new UnsupportedTypeError(`${path}: the oracle cannot generate values of @format ${tag.text}`);
      }
      (target(tag, "string") as StringNode).format = tag.text;
    } else if (tag.name === "minItems" || tag.name === "maxItems") {
      (target(tag, "array") as ArrayNode)[tag.name] = value;
    } else if (tag.name === "default") {
      hasDefault = true;
      try {
        defaultValue = JSON.parse(tag.text);
      } catch {
        defaultValue = tag.text;
      }
    }
  }
  return hasDefault ? { node: result, hasDefault, defaultValue } : { node: result, hasDefault };
}

// ---------------------------------------------------------------------------------------------
// Describing and matching values
// ---------------------------------------------------------------------------------------------

/** A short human description of a node (names stand for shared nodes, so cycles end). */
export function describeNode(node: TypeNode, depth = 0): string {
  switch (node.kind) {
    case "string":
    case "boolean":
      return node.kind;
    case "number":
      return node.integer ? "integer" : "number";
    case "literal":
      return JSON.stringify(node.value);
    case "array":
      return `${describeNode(node.items, depth + 1)}[]`;
    case "tuple": {
      const parts = [
        ...node.head.map((n) => describeNode(n, depth + 1)),
        ...node.optional.map((n) => `${describeNode(n, depth + 1)}?`),
        ...(node.rest ? [`...${describeNode(node.rest, depth + 1)}[]`] : []),
        ...node.tail.map((n) => describeNode(n, depth + 1)),
      ];
      return `[${parts.join(", ")}]`;
    }
    case "object":
      if (node.name && depth > 0) return node.name;
      if (depth > 2) return "{...}";
      return `{ ${node.properties.map((p) => `${p.name}${p.optional ? "?" : ""}: ${describeNode(p.node, depth + 1)}`).join("; ")}${node.index ? `; [key: string]: ${describeNode(node.index, depth + 1)}` : ""} }`;
    case "union":
      if (node.name && depth > 0) return node.name;
      return node.members.map((m) => describeNode(m, depth + 1)).join(" | ");
  }
}

export function jsonKindOf(value: unknown): JsonKind {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  const kind = typeof value;
  if (kind === "string" || kind === "number" || kind === "boolean" || kind === "object") return kind;
  throw new Error(`not a JSON value: ${String(value)}`);
}

/** The JSON kinds a node admits at least one value of. */
export function admittedKinds(node: TypeNode, seen = new Set<TypeNode>()): Set<JsonKind> {
  switch (node.kind) {
    case "string":
    case "number":
    case "boolean":
    case "array":
    case "object":
      return new Set([node.kind]);
    case "tuple":
      return new Set(["array"]);
    case "literal":
      return new Set([jsonKindOf(node.value)]);
    case "union": {
      const kinds = new Set<JsonKind>();
      if (seen.has(node)) return kinds;
      seen.add(node);
      for (const member of node.members) for (const kind of admittedKinds(member, seen)) kinds.add(kind);
      return kinds;
    }
  }
}

const codePoints = (text: string) => [...text].length;

/** The oracle's own judgement of whether a JSON value belongs to the type. */
export function admits(node: TypeNode, value: unknown): boolean {
  switch (node.kind) {
    case "string":
      return (
        typeof value === "string" &&
        (node.minLength === undefined || codePoints(value) >= node.minLength) &&
        (node.maxLength === undefined || codePoints(value) <= node.maxLength) &&
        (node.pattern === undefined || new RegExp(node.pattern, "u").test(value)) &&
        (node.format === undefined || matchesFormat(node.format, value))
      );
    case "number":
      return (
        typeof value === "number" &&
        Number.isFinite(value) &&
        (!node.integer || Number.isInteger(value)) &&
        (node.minimum === undefined || value >= node.minimum) &&
        (node.maximum === undefined || value <= node.maximum) &&
        (node.exclusiveMinimum === undefined || value > node.exclusiveMinimum) &&
        (node.exclusiveMaximum === undefined || value < node.exclusiveMaximum)
      );
    case "boolean":
      return typeof value === "boolean";
    case "literal":
      return value === node.value;
    case "array":
      return (
        Array.isArray(value) &&
        (node.minItems === undefined || value.length >= node.minItems) &&
        (node.maxItems === undefined || value.length <= node.maxItems) &&
        value.every((item) => admits(node.items, item))
      );
    case "tuple": {
      if (!Array.isArray(value)) return false;
      const fixed = node.head.length + node.tail.length;
      if (value.length < fixed) return false;
      if (!node.rest && value.length > fixed + node.optional.length) return false;
      return value.every((item, index) => {
        const element = tupleElementAt(node, index, value.length);
        return element !== undefined && admits(element, item);
      });
    }
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
      const record = value as Record<string, unknown>;
      const declared = new Set(node.properties.map((p) => p.name));
      for (const property of node.properties) {
        if (!Object.hasOwn(record, property.name)) {
          if (property.optional || property.hasDefault) continue;
          return false;
        }
        if (!admits(property.node, record[property.name])) return false;
      }
      if (node.closed) return Object.keys(record).every((key) => declared.has(key));
      if (node.index) {
        const index = node.index;
        return Object.keys(record).every((key) => declared.has(key) || admits(index, record[key]));
      }
      return true;
    }
    case "union":
      return node.members.some((member) => admits(member, value));
  }
}

/** The element type at `index` of a tuple value of length `length`. */
function tupleElementAt(node: TupleNode, index: number, length: number): TypeNode | undefined {
  const tailStart = length - node.tail.length;
  if (index >= tailStart && index >= node.head.length) return node.tail[index - tailStart];
  if (index < node.head.length) return node.head[index];
  const optionalIndex = index - node.head.length;
  if (optionalIndex < node.optional.length) return node.optional[optionalIndex];
  return node.rest;
}

function matchesFormat(format: string, value: string): boolean {
  switch (format) {
    case "date":
      return /^\d{4}-\d\d-\d\d$/.test(value) && validDate(value);
    case "date-time": {
      const match = /^(\d{4}-\d\d-\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/.exec(value);
      return match !== null && validDate(match[1] ?? "") && Number(match[2]) < 24 && Number(match[3]) < 60;
    }
    case "time":
      return /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/.test(value);
    case "email":
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
    case "uri":
    case "url":
      return /^[a-z][a-z0-9+.-]*:[^\s]*$/i.test(value);
    case "uuid":
      return /^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(value);
    case "hostname":
      return /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(
        value,
      );
    case "ipv4":
      return /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(value);
    default:
      throw new UnsupportedTypeError(`unknown format ${format}`);
  }
}

function validDate(text: string): boolean {
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

// ---------------------------------------------------------------------------------------------
// Valid values
// ---------------------------------------------------------------------------------------------

/** Every node reachable from `root`. */
function reachable(root: TypeNode): TypeNode[] {
  const seen = new Set<TypeNode>();
  const visit = (node: TypeNode | undefined) => {
    if (!node || seen.has(node)) return;
    seen.add(node);
    for (const child of children(node)) visit(child);
  };
  visit(root);
  return [...seen];
}

function children(node: TypeNode): TypeNode[] {
  switch (node.kind) {
    case "array":
      return [node.items];
    case "tuple":
      return [...node.head, ...node.optional, ...(node.rest ? [node.rest] : []), ...node.tail];
    case "object":
      return [...node.properties.map((p) => p.node), ...(node.index ? [node.index] : [])];
    case "union":
      return node.members;
    default:
      return [];
  }
}

/**
 * The least nesting depth of a value of each node (Infinity: no finite JSON value), found by
 * iterating to a fixed point, so that recursive types can be cut off.
 */
function minimalDepths(root: TypeNode): Map<TypeNode, number> {
  const nodes = reachable(root);
  const depth = new Map<TypeNode, number>(nodes.map((node) => [node, Number.POSITIVE_INFINITY]));
  const of = (node: TypeNode) => depth.get(node) ?? Number.POSITIVE_INFINITY;
  for (let changed = true; changed; ) {
    changed = false;
    for (const node of nodes) {
      let next: number;
      switch (node.kind) {
        case "array":
          next = (node.minItems ?? 0) > 0 ? 1 + of(node.items) : 1;
          break;
        case "tuple":
          next = 1 + Math.max(0, ...[...node.head, ...node.tail].map(of));
          break;
        case "object":
          next =
            1 +
            Math.max(
              0,
              ...node.properties.filter((p) => !p.optional && !p.hasDefault).map((p) => of(p.node)),
            );
          break;
        case "union":
          next = Math.min(...node.members.map(of));
          break;
        default:
          next = 0;
      }
      if (next < of(node)) {
        depth.set(node, next);
        changed = true;
      }
    }
  }
  return depth;
}

/** Nodes that lie on a cycle (recursive named types): the depth budget is spent on them. */
function recursiveNodes(root: TypeNode): Set<TypeNode> {
  const result = new Set<TypeNode>();
  for (const node of reachable(root)) {
    const seen = new Set<TypeNode>();
    const stack = [...children(node)];
    while (stack.length > 0) {
      const next = stack.pop();
      if (!next || seen.has(next)) continue;
      if (next === node) {
        result.add(node);
        break;
      }
      seen.add(next);
      stack.push(...children(next));
    }
  }
  return result;
}

export interface ValueOptions {
  /** How many levels of a recursive type to unfold freely before only the shortest way out is taken. */
  recursionDepth?: number;
}

/** A fast-check arbitrary of JSON values the type admits. */
export function validValues(root: TypeNode, options: ValueOptions = {}): fc.Arbitrary<unknown> {
  return new ValueGenerator(root).arbitrary(root, options.recursionDepth ?? 3);
}

const SAFE = Number.MAX_SAFE_INTEGER;

class ValueGenerator {
  private readonly depths: Map<TypeNode, number>;
  private readonly recursive: Set<TypeNode>;
  private readonly cache = new Map<TypeNode, Map<number, fc.Arbitrary<unknown>>>();

  constructor(root: TypeNode) {
    this.depths = minimalDepths(root);
    this.recursive = recursiveNodes(root);
    const depth = this.depths.get(root);
    if (depth === undefined || !Number.isFinite(depth)) {
      throw new UnsupportedTypeError(`${describeNode(root)} admits no finite JSON value`);
    }
  }

  arbitrary(node: TypeNode, budget: number): fc.Arbitrary<unknown> {
    const key = Math.max(budget, 0);
    let byBudget = this.cache.get(node);
    if (!byBudget) {
      byBudget = new Map();
      this.cache.set(node, byBudget);
    }
    const cached = byBudget.get(key);
    if (cached) return cached;
    const arbitrary = this.make(node, this.recursive.has(node) ? key - 1 : key, key > 0);
    byBudget.set(key, arbitrary);
    return arbitrary;
  }

  /** `free`: whether optional parts may be present (false once the recursion budget is spent). */
  private make(node: TypeNode, budget: number, free: boolean): fc.Arbitrary<unknown> {
    switch (node.kind) {
      case "string":
        return stringValues(node);
      case "number":
        return numberValues(node);
      case "boolean":
        return fc.boolean();
      case "literal":
        return fc.constant(node.value);
      case "array": {
        const min = node.minItems ?? 0;
        if (!free)
          return min === 0
            ? fc.constant([])
            : fc.array(this.arbitrary(node.items, budget), { minLength: min, maxLength: min });
        const items = this.arbitrary(node.items, budget);
        const max = node.maxItems ?? min + 4;
        const arrays = [fc.array(items, { minLength: min, maxLength: Math.min(max, min + 6) })];
        if (max > min + 6 && max <= 64) arrays.push(fc.array(items, { minLength: max, maxLength: max }));
        return arrays.length === 1 ? (arrays[0] as fc.Arbitrary<unknown>) : fc.oneof(...arrays);
      }
      case "tuple": {
        const head = node.head.map((n) => this.arbitrary(n, budget));
        const tail = node.tail.map((n) => this.arbitrary(n, budget));
        const optional = free ? node.optional.map((n) => this.arbitrary(n, budget)) : [];
        const rest =
          free && node.rest ? fc.array(this.arbitrary(node.rest, budget), { maxLength: 4 }) : fc.constant([]);
        return fc
          .tuple(
            fc.tuple(...head),
            fc.nat({ max: optional.length }).chain((n) => fc.tuple(...optional.slice(0, n))),
            rest,
            fc.tuple(...tail),
          )
          .map(([h, o, r, t]) => [...h, ...o, ...(r as unknown[]), ...t]);
      }
      case "object": {
        const record: Record<string, fc.Arbitrary<unknown>> = {};
        const requiredKeys: string[] = [];
        for (const property of node.properties) {
          const mayBeAbsent = property.optional || property.hasDefault;
          if (mayBeAbsent && !free) continue;
          record[property.name] = this.arbitrary(property.node, budget);
          if (!mayBeAbsent) requiredKeys.push(property.name);
        }
        const declared = fc.record(record, { requiredKeys, noNullPrototype: true });
        if (!node.index || !free) return declared;
        const names = new Set(node.properties.map((p) => p.name));
        const keys = fc.string({ maxLength: 8 }).filter((key) => !names.has(key) && key !== "__proto__");
        const extra = fc.dictionary(keys, this.arbitrary(node.index, budget), {
          maxKeys: 4,
          noNullPrototype: true,
        });
        return fc.tuple(extra, declared).map(([e, d]) => ({ ...e, ...d }));
      }
      case "union": {
        let members = node.members;
        if (!free) {
          const least = Math.min(...members.map((m) => this.depths.get(m) ?? Number.POSITIVE_INFINITY));
          members = members.filter((m) => this.depths.get(m) === least);
        }
        const arbitraries = members.map((m) => this.arbitrary(m, budget));
        return arbitraries.length === 1
          ? (arbitraries[0] as fc.Arbitrary<unknown>)
          : fc.oneof(...arbitraries);
      }
    }
  }
}

function stringValues(node: StringNode): fc.Arbitrary<string> {
  const { minLength = 0, maxLength, pattern, format } = node;
  const fitsLength = (text: string) =>
    codePoints(text) >= minLength && (maxLength === undefined || codePoints(text) <= maxLength);
  if (format === undefined && pattern === undefined) {
    // "binary" strings hold astral characters: lengths must count code points, not UTF-16 units.
    const constraints = maxLength === undefined ? { minLength } : { minLength, maxLength };
    return fc.oneof(fc.string(constraints), fc.string({ ...constraints, unit: "binary" }));
  }
  const regex = pattern === undefined ? undefined : new RegExp(pattern, "u");
  let base: fc.Arbitrary<string>;
  if (format !== undefined) base = formatValues(format);
  else base = fc.stringMatching(regex as RegExp, maxLength === undefined ? {} : { maxLength });
  return base.filter((text) => fitsLength(text) && (regex === undefined || regex.test(text)));
}

const lowerAlnum = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
  minLength: 1,
  maxLength: 8,
});
const label = fc
  .tuple(lowerAlnum, fc.option(fc.tuple(fc.constantFrom("", "-"), lowerAlnum), { nil: undefined }))
  .map(([a, b]) => (b ? `${a}${b[0]}${b[1]}` : a));
const hostname = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom("com", "org", "io", "dev"))
  .map(([labels, tld]) => [...labels, tld].join("."));
const instant = fc.date({
  min: new Date("1970-01-01T00:00:00.000Z"),
  max: new Date("2199-12-31T23:59:59.999Z"),
  noInvalidDate: true,
});

function formatValues(format: string): fc.Arbitrary<string> {
  switch (format) {
    case "date-time":
      return fc.oneof(
        instant.map((d) => d.toISOString()),
        fc
          .tuple(instant, fc.constantFrom("+00:00", "+05:30", "-08:00"))
          .map(([d, offset]) => `${d.toISOString().slice(0, 19)}${offset}`),
      );
    case "date":
      return instant.map((d) => d.toISOString().slice(0, 10));
    case "time":
      return instant.map((d) => `${d.toISOString().slice(11, 19)}Z`);
    case "email":
      return fc
        .tuple(fc.array(lowerAlnum, { minLength: 1, maxLength: 2 }), hostname)
        .map(([local, host]) => `${local.join(".")}@${host}`);
    case "uri":
    case "url":
      return fc
        .tuple(fc.constantFrom("http", "https"), hostname, fc.array(lowerAlnum, { maxLength: 3 }))
        .map(([scheme, host, path]) => `${scheme}://${host}/${path.join("/")}`);
    case "uuid":
      return fc.uuid();
    case "hostname":
      return hostname;
    case "ipv4":
      return fc.ipV4();
    default:
      throw new UnsupportedTypeError(`the oracle cannot generate values of @format ${format}`);
  }
}

function numberValues(node: NumberNode): fc.Arbitrary<number> {
  let low = node.minimum ?? -Number.MAX_VALUE;
  let lowExcluded = false;
  if (node.exclusiveMinimum !== undefined && node.exclusiveMinimum >= low) {
    low = node.exclusiveMinimum;
    lowExcluded = true;
  }
  let high = node.maximum ?? Number.MAX_VALUE;
  let highExcluded = false;
  if (node.exclusiveMaximum !== undefined && node.exclusiveMaximum <= high) {
    high = node.exclusiveMaximum;
    highExcluded = true;
  }
  const intMin = Math.max(lowExcluded ? Math.floor(low) + 1 : Math.ceil(low), -SAFE);
  const intMax = Math.min(highExcluded ? Math.ceil(high) - 1 : Math.floor(high), SAFE);
  const arbitraries: fc.Arbitrary<number>[] = [];
  if (intMin <= intMax) {
    arbitraries.push(fc.integer({ min: intMin, max: intMax }));
    // Everyday values as well as fast-check's extremes.
    const smallMin = Math.max(intMin, -1000);
    const smallMax = Math.min(intMax, 1000);
    if (smallMin <= smallMax) arbitraries.push(fc.integer({ min: smallMin, max: smallMax }));
  }
  if (!node.integer) {
    const double = (min: number, max: number, minExcluded: boolean, maxExcluded: boolean) =>
      fc.double({ min, max, minExcluded, maxExcluded, noNaN: true, noDefaultInfinity: true });
    arbitraries.push(double(low, high, lowExcluded, highExcluded));
    const moderateLow = Math.max(low, -1e6);
    const moderateHigh = Math.min(high, 1e6);
    if (moderateLow < moderateHigh) {
      arbitraries.push(
        double(
          moderateLow,
          moderateHigh,
          lowExcluded && moderateLow === low,
          highExcluded && moderateHigh === high,
        ),
      );
    }
  }
  if (arbitraries.length === 0) {
    throw new UnsupportedTypeError(`no number lies between the bounds of ${JSON.stringify(node)}`);
  }
  return fc.oneof(...arbitraries);
}

// ---------------------------------------------------------------------------------------------
// Invalid values
// ---------------------------------------------------------------------------------------------

export type MutationCategory = "wrong-kind" | "missing-required" | "out-of-bound" | "not-a-member";

export type Path = (string | number)[];

export interface Mutation {
  category: MutationCategory;
  path: Path;
  /** Delete the property at `path` rather than setting it. */
  remove?: true;
  value?: unknown;
  reason: string;
}

export function formatPath(path: Path): string {
  return `$${path.map((part) => (typeof part === "number" ? `[${part}]` : `.${part}`)).join("")}`;
}

/** A copy of `value` with the mutation applied. */
export function applyMutation(value: unknown, mutation: Mutation): unknown {
  if (mutation.path.length === 0) return mutation.value;
  const copy = structuredClone(value);
  let parent = copy as Record<string | number, unknown>;
  for (const part of mutation.path.slice(0, -1)) parent = parent[part] as Record<string | number, unknown>;
  const last = mutation.path[mutation.path.length - 1] as string | number;
  if (mutation.remove) delete parent[last];
  else parent[last] = mutation.value;
  return copy;
}

const SAMPLE_OF_KIND: Record<JsonKind, unknown> = {
  string: "wrong",
  number: 42,
  boolean: true,
  null: null,
  array: [],
  object: {},
};

const NON_MATCHING_CANDIDATES = [
  "",
  " ",
  "!",
  "a",
  "A",
  "0",
  "-",
  "_",
  "zz~~zz",
  "\n",
  "é",
  "aaaaaaaaaaaaaaaaaaaa",
];

const INVALID_FORMAT_VALUES: Record<string, string> = {
  "date-time": "2024-13-45 25:61",
  date: "2024-13-45",
  time: "25:61:00",
  email: "no-at-sign",
  uri: "no scheme here",
  url: "no scheme here",
  uuid: "not-a-uuid",
  hostname: "-bad-.-host-",
  ipv4: "999.1.1.1",
};

/**
 * Every invalid variant of the valid value `value` this oracle can make, at any depth. Each one
 * is checked with {@link admits} on the whole value, so that a mutation that happens to fit
 * another branch of a union is dropped.
 */
export function mutationsOf(root: TypeNode, value: unknown): Mutation[] {
  const candidates: Mutation[] = [];
  collect(root, value, [], candidates);
  return candidates.filter((mutation) => !admits(root, applyMutation(value, mutation)));
}

function collect(node: TypeNode, value: unknown, path: Path, out: Mutation[]): void {
  const here = formatPath(path);
  const kinds = admittedKinds(node);
  for (const kind of JSON_KINDS) {
    if (kinds.has(kind)) continue;
    out.push({
      category: "wrong-kind",
      path,
      value: SAMPLE_OF_KIND[kind],
      reason: `${here} set to a ${kind}, but its type ${describeNode(node)} admits no ${kind}`,
    });
  }
  switch (node.kind) {
    case "union": {
      const member = node.members.find((m) => admits(m, value));
      if (member) collect(member, value, path, out);
      if (node.members.every((m) => m.kind === "literal" || m.kind === "boolean"))
        notAMember(node, path, out);
      return;
    }
    case "literal":
      notAMember(node, path, out);
      return;
    case "string":
      stringMutations(node, value as string, path, out);
      return;
    case "number":
      numberMutations(node, value as number, path, out);
      return;
    case "array": {
      const items = value as unknown[];
      for (const [index, item] of items.entries()) collect(node.items, item, [...path, index], out);
      if (node.minItems !== undefined && node.minItems > 0) {
        out.push({
          category: "out-of-bound",
          path,
          value: items.slice(0, node.minItems - 1),
          reason: `${here} has ${node.minItems - 1} items, below @minItems ${node.minItems}`,
        });
      }
      if (node.maxItems !== undefined && items.length > 0) {
        const longer = Array.from({ length: node.maxItems + 1 }, (_, i) => items[i % items.length]);
        out.push({
          category: "out-of-bound",
          path,
          value: longer,
          reason: `${here} has ${node.maxItems + 1} items, above @maxItems ${node.maxItems}`,
        });
      }
      return;
    }
    case "tuple": {
      const items = value as unknown[];
      items.forEach((item, index) => {
        const element = tupleElementAt(node, index, items.length);
        if (element) collect(element, item, [...path, index], out);
      });
      const fixed = node.head.length + node.tail.length;
      if (fixed > 0) {
        out.push({
          category: "out-of-bound",
          path,
          value: items.slice(0, fixed - 1),
          reason: `${here} has ${fixed - 1} elements, fewer than the ${fixed} its tuple type requires`,
        });
      }
      if (!node.rest && items.length > 0) {
        const max = fixed + node.optional.length;
        out.push({
          category: "out-of-bound",
          path,
          value: [...items, ...Array.from({ length: max + 1 - items.length }, () => items[0])],
          reason: `${here} has ${max + 1} elements, more than its tuple type's ${max}`,
        });
      }
      return;
    }
    case "object": {
      const record = value as Record<string, unknown>;
      for (const property of node.properties) {
        const propertyPath = [...path, property.name];
        if (Object.hasOwn(record, property.name))
          collect(property.node, record[property.name], propertyPath, out);
        if (!property.optional && !property.hasDefault && Object.hasOwn(record, property.name)) {
          out.push({
            category: "missing-required",
            path: propertyPath,
            remove: true,
            reason: `required property ${formatPath(propertyPath)} deleted`,
          });
        }
      }
      if (node.index) {
        const declared = new Set(node.properties.map((p) => p.name));
        for (const key of Object.keys(record)) {
          if (!declared.has(key)) collect(node.index, record[key], [...path, key], out);
        }
      }
      return;
    }
    case "boolean":
      return;
  }
}

function notAMember(node: TypeNode, path: Path, out: Mutation[]): void {
  const values =
    node.kind === "union" ? node.members.map((m) => (m.kind === "literal" ? m.value : true)) : [];
  if (node.kind === "literal") values.push(node.value);
  const strings = values.filter((v): v is string => typeof v === "string");
  const numbers = values.filter((v): v is number => typeof v === "number");
  const candidates: unknown[] = [];
  if (strings.length > 0) candidates.push(`${strings.join("")}_x`);
  if (numbers.length > 0) candidates.push(Math.max(...numbers) + 1);
  if (values.includes(true) !== values.includes(false)) candidates.push(!values.includes(true));
  for (const candidate of candidates) {
    out.push({
      category: "not-a-member",
      path,
      value: candidate,
      reason: `${formatPath(path)} set to ${JSON.stringify(candidate)}, which is none of ${describeNode(node)}`,
    });
  }
}

function stringMutations(node: StringNode, text: string, path: Path, out: Mutation[]): void {
  const here = formatPath(path);
  if (node.minLength !== undefined && node.minLength > 0) {
    out.push({
      category: "out-of-bound",
      path,
      value: [...text].slice(0, node.minLength - 1).join(""),
      reason: `${here} has ${node.minLength - 1} characters, below @minLength ${node.minLength}`,
    });
  }
  if (node.maxLength !== undefined) {
    const longer = [...text, ..."x".repeat(node.maxLength + 1)].slice(0, node.maxLength + 1).join("");
    out.push({
      category: "out-of-bound",
      path,
      value: longer,
      reason: `${here} has ${node.maxLength + 1} characters, above @maxLength ${node.maxLength}`,
    });
  }
  if (node.pattern !== undefined) {
    const regex = new RegExp(node.pattern, "u");
    const miss = NON_MATCHING_CANDIDATES.find((candidate) => !regex.test(candidate));
    if (miss !== undefined) {
      out.push({
        category: "out-of-bound",
        path,
        value: miss,
        reason: `${here} set to ${JSON.stringify(miss)}, which does not match @pattern ${node.pattern}`,
      });
    }
  }
  if (node.format !== undefined) {
    const bad = INVALID_FORMAT_VALUES[node.format];
    if (bad !== undefined) {
      out.push({
        category: "out-of-bound",
        path,
        value: bad,
        reason: `${here} set to ${JSON.stringify(bad)}, which is not a valid @format ${node.format}`,
      });
    }
  }
}

function numberMutations(node: NumberNode, value: number, path: Path, out: Mutation[]): void {
  const here = formatPath(path);
  const push = (candidate: number, why: string) =>
    out.push({
      category: "out-of-bound",
      path,
      value: candidate,
      reason: `${here} set to ${candidate}, ${why}`,
    });
  if (node.minimum !== undefined) push(node.minimum - 1, `below @minimum ${node.minimum}`);
  if (node.maximum !== undefined) push(node.maximum + 1, `above @maximum ${node.maximum}`);
  if (node.exclusiveMinimum !== undefined) {
    push(node.exclusiveMinimum, `equal to @exclusiveMinimum ${node.exclusiveMinimum}`);
  }
  if (node.exclusiveMaximum !== undefined) {
    push(node.exclusiveMaximum, `equal to @exclusiveMaximum ${node.exclusiveMaximum}`);
  }
  if (node.integer) {
    for (const candidate of [value + 0.5, value - 0.5, (node.minimum ?? 0) + 0.5]) {
      if (!Number.isInteger(candidate)) push(candidate, "not an integer, but the type is an integer");
    }
  }
}

export interface InvalidValue {
  valid: unknown;
  mutation: Mutation;
  value: unknown;
}

/**
 * Invalid values: a valid value with one mutation applied, the category picked first (evenly
 * among those possible for the value) so that rare categories are not drowned out.
 */
export function invalidValues(root: TypeNode, options: ValueOptions = {}): fc.Arbitrary<InvalidValue> {
  return fc
    .tuple(validValues(root, options), fc.nat(), fc.nat())
    .map(([valid, pickCategory, pickMutation]) => {
      const all = mutationsOf(root, valid);
      const categories = [...new Set(all.map((m) => m.category))];
      const category = categories[pickCategory % categories.length];
      const inCategory = all.filter((m) => m.category === category);
      const mutation = inCategory[pickMutation % inCategory.length];
      if (!mutation)
        throw new Error(`no invalid mutation of ${JSON.stringify(valid)} (${describeNode(root)})`);
      return { valid, mutation, value: applyMutation(valid, mutation) };
    });
}

/**
 * A copy of a valid value with `@default` values filled in for absent properties that the
 * TypeScript type requires (what a handler sees once defaults are applied).
 */
export function withDefaults(node: TypeNode, value: unknown): unknown {
  switch (node.kind) {
    case "union": {
      const member = node.members.find((m) => admits(m, value));
      return member ? withDefaults(member, value) : value;
    }
    case "array":
      return Array.isArray(value) ? value.map((item) => withDefaults(node.items, item)) : value;
    case "tuple":
      if (!Array.isArray(value)) return value;
      return value.map((item, index) => {
        const element = tupleElementAt(node, index, value.length);
        return element ? withDefaults(element, item) : item;
      });
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
      const record = { ...(value as Record<string, unknown>) };
      for (const property of node.properties) {
        if (Object.hasOwn(record, property.name)) {
          record[property.name] = withDefaults(property.node, record[property.name]);
        } else if (property.hasDefault && !property.optional) {
          record[property.name] = property.defaultValue;
        }
      }
      if (node.index) {
        const declared = new Set(node.properties.map((p) => p.name));
        for (const key of Object.keys(record)) {
          if (!declared.has(key)) record[key] = withDefaults(node.index, record[key]);
        }
      }
      return record;
    }
    default:
      return value;
  }
}
