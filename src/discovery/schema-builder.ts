import { ts } from "ts-morph";
import type { JsonSchema } from "../contract/json-schema.js";
import { createAjv } from "../util/ajv.js";
import { canonicalJson } from "../util/canonical-json.js";
import { applyDocTags } from "./doc-constraints.js";
import { readDoc } from "./jsdoc.js";
import { isIntegerBrand, isSdkType } from "./sdk-types.js";

export const DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema";

/** Where a type was met: the node to point problems at, and a readable path such as `Input.boxes[].x`. */
export interface Site {
  node: ts.Node;
  path: string;
}

export interface SchemaBuilderOptions {
  checker: ts.TypeChecker;
  program: ts.Program;
  report(node: ts.Node, message: string): void;
}

/** The wire shape of an input or output file. */
const ASSET_SCHEMA: JsonSchema = {
  title: "Asset",
  description:
    "A file: an http(s) URL or a Cozy file ref. Inputs are downloaded to local disk before the handler runs.",
  type: "object",
  properties: {
    ref: { type: "string", minLength: 1 },
    owner: nullable({ type: "string" }),
    local_path: nullable({ type: "string" }),
    mime_type: nullable({ type: "string" }),
    size_bytes: nullable({ type: "integer", minimum: 0 }),
    sha256: nullable({ type: "string" }),
  },
  required: ["ref"],
};

const MAX_DEPTH = 64;

const NOT_JSON_LIB_TYPES: Record<string, string> = {
  Date: "use a string with `@format date-time`, or a number of milliseconds",
  Map: "use Record<string, T>",
  Set: "use an array",
  Promise: "await it in the handler; payload and output types hold data only",
  RegExp: "use a string (with `@pattern` to constrain it)",
  Error: "use an object with the fields you need",
};

/**
 * Turns TypeScript types into JSON Schema. Named types (interfaces, type aliases, enums) go into
 * `$defs` and are referenced with `$ref`, which is also how recursive types terminate.
 * One builder makes one root schema, so each schema's `$defs` holds only what it reaches.
 */
export class SchemaBuilder {
  private readonly defs = new Map<string, JsonSchema>();
  private readonly defNameByType = new Map<ts.Type, string>();
  private readonly checker: ts.TypeChecker;
  private readonly defaults: { schema: JsonSchema; site: Site }[] = [];
  private depth = 0;

  constructor(private readonly options: SchemaBuilderOptions) {
    this.checker = options.checker;
  }

  /**
   * The root schema of a payload, output or delta type. An anonymous object type is named
   * `fallbackName` so that every object root has the Python SDK's `{$ref, $defs}` shape.
   */
  root(
    type: ts.Type,
    site: Site,
    fallbackName: string,
  ): { schema: JsonSchema; typeName: string | undefined; synthesized: boolean } {
    let body: JsonSchema;
    let typeName = this.nameOf(type);
    const synthesized = typeName === undefined && this.isPlainObject(type);
    if (synthesized) {
      typeName = this.uniqueName(fallbackName);
      body = this.defineNamed(type, typeName, site);
    } else {
      body = this.convert(type, site);
    }
    const schema: JsonSchema = { $schema: DRAFT_2020_12, ...body };
    if (this.defs.size > 0) schema.$defs = Object.fromEntries(this.defs);
    this.checkDefaults(schema.$defs);
    return { schema, typeName, synthesized };
  }

  /** A `@default` the property's own schema rejects would be applied to every run: refuse it. */
  private checkDefaults(defs: unknown): void {
    if (this.defaults.length === 0) return;
    const ajv = createAjv({ strict: false });
    for (const { schema, site } of this.defaults) {
      const { default: value, ...rest } = schema;
      const validate = ajv.compile({ ...rest, ...(defs ? { $defs: defs } : {}) });
      if (!validate(value)) {
        const reason = validate.errors?.[0]?.message ?? "it does not match the type";
        this.fail(
          site,
          `has @default ${JSON.stringify(value)}, which its own type rejects (${reason}): change the default to a value the type accepts`,
        );
      }
    }
  }

  convert(type: ts.Type, site: Site): JsonSchema {
    if (this.depth > MAX_DEPTH) return this.fail(site, "is nested too deeply to describe in JSON Schema");
    this.depth++;
    try {
      return this.convertType(type, site);
    } finally {
      this.depth--;
    }
  }

  private convertType(type: ts.Type, site: Site): JsonSchema {
    const { checker } = this;
    if (isSdkType(type, "Asset", checker)) return this.assetRef();
    if (isIntegerBrand(type, checker)) return { type: "integer" };
    const problem = this.unsupported(type);
    if (problem) return this.fail(site, problem);

    const flags = type.flags;
    if (flags & ts.TypeFlags.String) return { type: "string" };
    if (flags & ts.TypeFlags.Number) return { type: "number" };
    if (flags & ts.TypeFlags.Boolean) return { type: "boolean" };
    if (flags & ts.TypeFlags.Null) return { type: "null" };
    if (type.isLiteral() || flags & ts.TypeFlags.BooleanLiteral) return { const: literalValue(type) };

    const name = this.nameOf(type);
    if (name !== undefined) return this.namedRef(type, name, site);
    if (type.isUnion()) return this.union(type.types, site);
    return this.object(type, site);
  }

  /** Why a type cannot be JSON Schema, or undefined when it can. */
  private unsupported(type: ts.Type): string | undefined {
    const flags = type.flags;
    const text = this.checker.typeToString(type);
    if (flags & ts.TypeFlags.Any) {
      if ((type as { intrinsicName?: string }).intrinsicName === "error") {
        return "has a type that cannot be resolved: check that it is imported and spelled right";
      }
      return "is `any`, which cannot be expressed in JSON Schema: give it a concrete type";
    }
    if (flags & ts.TypeFlags.Unknown) {
      return "is `unknown`, which cannot be expressed in JSON Schema: give it a concrete type";
    }
    if (flags & ts.TypeFlags.Never) return "is `never`: no value can be sent for it; remove it";
    if (flags & ts.TypeFlags.BigIntLike) {
      return "is a bigint, which JSON cannot carry: use number (or a string for values beyond 2^53)";
    }
    if (flags & ts.TypeFlags.ESSymbolLike) return "is a symbol, which JSON cannot carry: use a string";
    if (flags & (ts.TypeFlags.Void | ts.TypeFlags.Undefined)) {
      return `is \`${text}\`, which JSON cannot carry: make the property optional (\`name?: T\`) instead`;
    }
    if (flags & ts.TypeFlags.TypeParameter) {
      return `has the unresolved type parameter ${text}: handlers must use concrete types (instantiate the generic, for example Page<Item>)`;
    }
    if (flags & (ts.TypeFlags.TemplateLiteral | ts.TypeFlags.StringMapping)) {
      return `is the template literal type ${text}, which JSON Schema cannot express exactly: use string with a \`@pattern\``;
    }
    if (flags & ts.TypeFlags.NonPrimitive) {
      return "is `object`, which says nothing about its fields: describe them with an interface";
    }
    if (flags & ts.TypeFlags.Object) return this.unsupportedObject(type as ts.ObjectType, text);
    return undefined;
  }

  private unsupportedObject(type: ts.ObjectType, text: string): string | undefined {
    const symbol = type.getSymbol();
    if (type.getCallSignatures().length > 0) {
      return `is a function (${text}), which is not JSON data: remove it, or pass its inputs as data`;
    }
    if (symbol && symbol.flags & ts.SymbolFlags.Class) {
      return `is an instance of class ${symbol.getName()}, which is not JSON data: use an interface with the fields you need`;
    }
    if (type.getConstructSignatures().length > 0) return `is a constructor (${text}), which is not JSON data`;
    if (
      symbol &&
      this.isLibSymbol(symbol) &&
      !this.checker.isArrayType(type) &&
      !this.checker.isTupleType(type)
    ) {
      const name = symbol.getName();
      const fix = NOT_JSON_LIB_TYPES[name] ?? "use plain data (string, number, boolean, arrays, objects)";
      if (/Array$|ArrayBuffer$/.test(name)) {
        return `is a ${name}, which JSON cannot carry: pass bytes as an Asset, or as a base64 string`;
      }
      if (name !== "__type" && name !== "__object") return `is a ${name}, which is not JSON data: ${fix}`;
    }
    return undefined;
  }

  /**
   * TypeScript flattens unions: `Scheduler | null` is the enum's members plus null, and `boolean`
   * is `true | false`. Whole enums and booleans are put back together before the literals left
   * over become one `enum`.
   */
  private union(members: readonly ts.Type[], site: Site): JsonSchema {
    const present = members.filter((member) => !(member.flags & ts.TypeFlags.Undefined));
    const only = present[0];
    if (present.length === 1 && only) return this.convert(only, site);

    const branches: JsonSchema[] = [];
    const literals: Literal[] = [];
    const wholeEnums = this.wholeEnums(present);
    const hasBoolean = [true, false].every((value) =>
      present.some((member) => isBooleanLiteral(member, value)),
    );
    if (hasBoolean) branches.push({ type: "boolean" });
    for (const enumType of wholeEnums.types) branches.push(this.convert(enumType, site));
    for (const member of present) {
      if (wholeEnums.members.has(member) || (hasBoolean && member.flags & ts.TypeFlags.BooleanLiteral))
        continue;
      if (isLiteralOrNull(member)) literals.push(literalOrNullValue(member));
      else branches.push(this.convert(member, site));
    }
    if (branches.length === 0) return { enum: sortValues(literals) };
    const values = literals.filter((value) => value !== null);
    if (values.length === 1) branches.push({ const: values[0] });
    else if (values.length > 1) branches.push({ enum: sortValues(values) });
    if (literals.includes(null)) branches.push({ type: "null" });
    const single = branches[0];
    return branches.length === 1 && single ? single : { anyOf: sortBranches(branches) };
  }

  /** The enums all of whose members are in a union, and those members. */
  private wholeEnums(members: readonly ts.Type[]): { types: ts.Type[]; members: Set<ts.Type> } {
    const byEnum = new Map<ts.Type, ts.Type[]>();
    for (const member of members) {
      if (!(member.flags & ts.TypeFlags.EnumLiteral)) continue;
      const enumType = this.checker.getBaseTypeOfLiteralType(member);
      byEnum.set(enumType, [...(byEnum.get(enumType) ?? []), member]);
    }
    const types: ts.Type[] = [];
    const covered = new Set<ts.Type>();
    for (const [enumType, found] of byEnum) {
      const size = enumType.isUnion() ? enumType.types.length : 1;
      if (enumType === found[0] || found.length !== size) continue;
      types.push(enumType);
      for (const member of found) covered.add(member);
    }
    return { types, members: covered };
  }

  private object(type: ts.Type, site: Site): JsonSchema {
    const { checker } = this;
    if (checker.isArrayType(type)) {
      const [element] = checker.getTypeArguments(type as ts.TypeReference);
      return {
        type: "array",
        items: element ? this.convert(element, { ...site, path: `${site.path}[]` }) : {},
      };
    }
    if (checker.isTupleType(type)) return this.tuple(type as ts.TypeReference, site);
    return this.objectBody(type, site);
  }

  private tuple(type: ts.TypeReference, site: Site): JsonSchema {
    const target = type.target as ts.TupleType;
    const elements = this.checker.getTypeArguments(type);
    const prefixItems: JsonSchema[] = [];
    let rest: JsonSchema | undefined;
    for (const [index, element] of elements.entries()) {
      const elementSite = { ...site, path: `${site.path}[${index}]` };
      if (rest) {
        return this.fail(
          site,
          "is a tuple with elements after its rest element, which JSON Schema cannot express: move them before the rest, or use an object",
        );
      }
      if (target.elementFlags[index] === ts.ElementFlags.Rest) rest = this.convert(element, elementSite);
      else prefixItems.push(this.convert(element, elementSite));
    }
    const schema: JsonSchema = { type: "array", prefixItems, minItems: target.minLength };
    if (rest) schema.items = rest;
    else {
      schema.items = false;
      schema.maxItems = prefixItems.length;
    }
    return schema;
  }

  private objectBody(type: ts.Type, site: Site): JsonSchema {
    const { checker } = this;
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const property of checker.getPropertiesOfType(type)) {
      const name = property.getName();
      const declaration = property.valueDeclaration ?? property.declarations?.[0];
      const propertySite = { node: declaration ?? site.node, path: `${site.path}.${name}` };
      if (name.startsWith("__@")) {
        this.fail(propertySite, "is keyed by a symbol, which JSON cannot carry: use a string key");
        continue;
      }
      if (property.flags & ts.SymbolFlags.Method) {
        this.fail(propertySite, "is a method, which is not JSON data: remove it from the type");
        continue;
      }
      const propertyType = checker.getTypeOfSymbol(property);
      const optional =
        (property.flags & ts.SymbolFlags.Optional) !== 0 ||
        (propertyType.isUnion() && propertyType.types.some((t) => t.flags & ts.TypeFlags.Undefined));
      let schema = this.convert(this.declaredType(property, declaration) ?? propertyType, propertySite);
      const doc = readDoc(property, checker);
      schema = applyDocTags(schema, doc, (message) => this.fail(propertySite, message));
      properties[name] = schema;
      if ("default" in schema) this.defaults.push({ schema, site: propertySite });
      if (!optional && !("default" in schema)) required.push(name);
    }
    const indexInfos = checker.getIndexInfosOfType(type);
    const isRecord = indexInfos.length > 0 && Object.keys(properties).length === 0;
    const body: JsonSchema = isRecord ? { type: "object" } : { type: "object", properties, required };
    for (const info of indexInfos) {
      if (!(info.keyType.flags & ts.TypeFlags.String)) {
        this.fail(
          site,
          "has a non-string index signature; JSON object keys are strings: use Record<string, T>",
        );
        continue;
      }
      // Record<string, never> is how TypeScript says "no properties at all".
      body.additionalProperties =
        info.type.flags & ts.TypeFlags.Never
          ? false
          : this.convert(info.type, { ...site, path: `${site.path}[string]` });
    }
    return body;
  }

  /**
   * The type as written on the property (`x?: Format` keeps its alias, which the optional
   * `Format | undefined` loses); not for properties of instantiated generics or mapped types.
   */
  private declaredType(property: ts.Symbol, declaration: ts.Declaration | undefined): ts.Type | undefined {
    if (property.flags & ts.SymbolFlags.Transient || !declaration) return undefined;
    if (!ts.isPropertySignature(declaration) && !ts.isPropertyDeclaration(declaration)) return undefined;
    return declaration.type ? this.checker.getTypeFromTypeNode(declaration.type) : undefined;
  }

  private namedRef(type: ts.Type, name: string, site: Site): JsonSchema {
    const existing = this.defNameByType.get(type);
    if (existing !== undefined) return ref(existing);
    const defName = this.uniqueName(name);
    this.defineNamed(type, defName, site);
    return ref(defName);
  }

  /** Puts a named type into `$defs` (registering it first, so that recursion ends in a `$ref`). */
  private defineNamed(type: ts.Type, defName: string, site: Site): JsonSchema {
    this.defNameByType.set(type, defName);
    this.defs.set(defName, {});
    const namedSite = { ...site, path: defName };
    const body = type.flags & ts.TypeFlags.EnumLike ? this.enumBody(type) : this.structural(type, namedSite);
    const symbol = type.aliasSymbol ?? type.getSymbol();
    const doc = symbol ? readDoc(symbol, this.checker) : { tags: [] };
    const def: JsonSchema = { title: defName };
    if (doc.description) def.description = doc.description;
    Object.assign(def, body);
    this.defs.set(defName, def);
    return ref(defName);
  }

  private structural(type: ts.Type, site: Site): JsonSchema {
    if (type.isUnion()) return this.union(type.types, site);
    return this.object(type, site);
  }

  /** A TypeScript `enum`: its member values, sorted as the Python SDK sorts Enum values. */
  private enumBody(type: ts.Type): JsonSchema {
    const members = type.isUnion() ? type.types : [type];
    return { enum: sortValues(members.map(literalValue)) };
  }

  private assetRef(): JsonSchema {
    if (!this.defs.has("Asset")) this.defs.set("Asset", ASSET_SCHEMA);
    return ref("Asset");
  }

  /** The `$defs` name of a named type: its alias, interface or enum name plus type arguments. */
  private nameOf(type: ts.Type): string | undefined {
    const alias = type.aliasSymbol;
    if (alias && !this.isLibSymbol(alias)) {
      return typeName(alias.getName(), type.aliasTypeArguments ?? [], this);
    }
    const symbol = type.getSymbol();
    if (!symbol || this.isLibSymbol(symbol)) return undefined;
    if (symbol.flags & ts.SymbolFlags.Enum && type.flags & ts.TypeFlags.EnumLike && type.isUnion()) {
      return symbol.getName();
    }
    if (symbol.flags & ts.SymbolFlags.Interface) {
      const args =
        (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference
          ? this.checker.getTypeArguments(type as ts.TypeReference)
          : [];
      return typeName(symbol.getName(), args, this);
    }
    return undefined;
  }

  /** The name of a type argument inside a generic's `$defs` name, e.g. `Page_Item`. */
  argumentName(type: ts.Type): string {
    return this.nameOf(type) ?? this.checker.typeToString(type).replace(/[^A-Za-z0-9]+/g, "_");
  }

  private isPlainObject(type: ts.Type): boolean {
    if (!(type.flags & ts.TypeFlags.Object) && !type.isIntersection()) return false;
    return !this.checker.isArrayType(type) && !this.checker.isTupleType(type);
  }

  private isLibSymbol(symbol: ts.Symbol): boolean {
    const declarations = symbol.getDeclarations() ?? [];
    return (
      declarations.length > 0 &&
      declarations.every((decl) => this.options.program.isSourceFileDefaultLibrary(decl.getSourceFile()))
    );
  }

  private uniqueName(base: string): string {
    let name = base;
    for (let n = 2; this.defs.has(name); n++) name = `${base}${n}`;
    return name;
  }

  private fail(site: Site, message: string): JsonSchema {
    this.options.report(site.node, `${site.path} ${message}`);
    return {};
  }
}

function typeName(base: string, args: readonly ts.Type[], builder: SchemaBuilder): string {
  return [base, ...args.map((arg) => builder.argumentName(arg))].join("_");
}

function ref(name: string): JsonSchema {
  return { $ref: `#/$defs/${name}` };
}

function nullable(schema: JsonSchema): JsonSchema {
  return { anyOf: [schema, { type: "null" }] };
}

type Literal = string | number | boolean | null;

function literalValue(type: ts.Type): Literal {
  if (type.isLiteral()) {
    const value = type.value;
    return typeof value === "object" ? Number(value.base10Value) : value;
  }
  return (type as { intrinsicName?: string }).intrinsicName === "true";
}

function isLiteralOrNull(type: ts.Type): boolean {
  return type.isLiteral() || (type.flags & (ts.TypeFlags.BooleanLiteral | ts.TypeFlags.Null)) !== 0;
}

function literalOrNullValue(type: ts.Type): Literal {
  return type.flags & ts.TypeFlags.Null ? null : literalValue(type);
}

function isBooleanLiteral(type: ts.Type, value: boolean): boolean {
  return (type.flags & ts.TypeFlags.BooleanLiteral) !== 0 && literalValue(type) === value;
}

const TYPE_ORDER = ["object", "boolean", "number", "string"];

/**
 * Union members come in type-id order, which shifts with unrelated code: sort for stable hashes.
 * Like Python's `sorted`: numbers by value, strings by code point (never by locale).
 */
function sortValues(values: Literal[]): Literal[] {
  return [...values].sort((a, b) => {
    const byType = TYPE_ORDER.indexOf(typeof a) - TYPE_ORDER.indexOf(typeof b);
    if (byType !== 0 || a === null || b === null) return byType;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

function sortBranches(branches: JsonSchema[]): JsonSchema[] {
  const isNull = (schema: JsonSchema) => schema.type === "null";
  const keyed = branches.map((schema) => ({ schema, key: canonicalJson(schema) }));
  keyed.sort(
    (a, b) =>
      Number(isNull(a.schema)) - Number(isNull(b.schema)) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  return keyed.map((entry) => entry.schema);
}
