import { childPath } from "../validation.js";
import { type AssetWire, isAssetWire } from "./asset.js";

const ASSET_REF = "#/$defs/Asset";
const DEFS_PREFIX = "#/$defs/";
const MAX_REF_HOPS = 64;

type Schema = Record<string, unknown>;

/** An asset found in a payload, and how to put its replacement into the payload's copy. */
export interface AssetSlot {
  /** Where it is, such as `$.images[1]`. */
  path: string;
  wire: AssetWire;
  place(value: unknown): void;
}

/** What a schema position means once `$ref`s are followed. */
type Resolved = { kind: "asset" } | { kind: "schema"; schema: Schema } | { kind: "any" } | { kind: "none" };

/**
 * Walks a payload together with its JSON Schema (draft 2020-12, root `{$ref, $defs}` as made by
 * discovery) to find the positions typed `Asset`.
 */
export class SchemaWalker {
  private readonly defs: Record<string, unknown>;

  constructor(private readonly root: Schema) {
    const defs = root.$defs;
    this.defs = isObject(defs) ? defs : {};
  }

  /**
   * Copies the containers on the way (the payload is left alone) and lists the assets found.
   * `placeRoot` receives the replacement when the payload itself is an asset.
   */
  findAssets(payload: unknown, placeRoot: (value: unknown) => void): { copy: unknown; assets: AssetSlot[] } {
    const assets: AssetSlot[] = [];
    const copy = this.walk(payload, this.root, "$", placeRoot, assets);
    return { copy, assets };
  }

  private walk(
    value: unknown,
    schema: unknown,
    path: string,
    place: (value: unknown) => void,
    assets: AssetSlot[],
  ): unknown {
    if (value === null || typeof value !== "object") return value;
    const resolved = this.resolve(schema);
    if (resolved.kind === "asset") {
      if (isAssetWire(value)) assets.push({ path, wire: value, place });
      return value;
    }
    if (resolved.kind !== "schema") return value;
    const node = resolved.schema;

    const branches = Array.isArray(node.anyOf)
      ? node.anyOf
      : Array.isArray(node.oneOf)
        ? node.oneOf
        : undefined;
    if (branches !== undefined) {
      const branch = this.pickBranch(value, branches);
      return branch === undefined ? value : this.walk(value, branch, path, place, assets);
    }

    if (Array.isArray(value)) {
      const prefixItems = Array.isArray(node.prefixItems) ? node.prefixItems : [];
      const copy = value.slice();
      copy.forEach((item, index) => {
        const itemSchema = index < prefixItems.length ? prefixItems[index] : node.items;
        copy[index] = this.walk(
          item,
          itemSchema,
          `${path}[${index}]`,
          (replacement) => {
            copy[index] = replacement;
          },
          assets,
        );
      });
      return copy;
    }

    const properties = isObject(node.properties) ? node.properties : {};
    const copy: Record<string, unknown> = { ...value };
    for (const key of Object.keys(copy)) {
      const propertySchema = Object.hasOwn(properties, key) ? properties[key] : node.additionalProperties;
      const set = (replacement: unknown) => setOwn(copy, key, replacement);
      set(this.walk(copy[key], propertySchema, childPath(path, key), set, assets));
    }
    return copy;
  }

  /** The branch a value fits; an object with a string `ref` fits the Asset branch first. */
  private pickBranch(value: unknown, branches: unknown[]): unknown {
    if (isAssetWire(value)) {
      const asset = branches.find((branch) => this.resolve(branch).kind === "asset");
      if (asset !== undefined) return asset;
    }
    return branches.find((branch) => this.fits(value, branch, 0));
  }

  /** A loose match, enough to tell union branches apart (the payload was validated before). */
  private fits(value: unknown, schema: unknown, depth: number): boolean {
    const resolved = this.resolve(schema);
    if (resolved.kind === "asset") return isAssetWire(value);
    if (resolved.kind === "any") return true;
    if (resolved.kind === "none") return false;
    const node = resolved.schema;
    if ("const" in node && node.const !== value) return false;
    if (Array.isArray(node.enum) && !node.enum.includes(value)) return false;
    if (node.type !== undefined && !matchesType(value, node.type)) return false;
    const branches = Array.isArray(node.anyOf)
      ? node.anyOf
      : Array.isArray(node.oneOf)
        ? node.oneOf
        : undefined;
    if (branches !== undefined && depth < MAX_REF_HOPS) {
      if (!branches.some((branch) => this.fits(value, branch, depth + 1))) return false;
    }
    if (isObject(value) && !Array.isArray(value)) {
      if (Array.isArray(node.required) && !node.required.every((key) => Object.hasOwn(value, String(key)))) {
        return false;
      }
      const properties = isObject(node.properties) ? node.properties : {};
      for (const [key, propertySchema] of Object.entries(properties)) {
        if (!Object.hasOwn(value, key) || !isObject(propertySchema)) continue;
        const discriminates = "const" in propertySchema || Array.isArray(propertySchema.enum);
        if (discriminates && !this.fits(value[key], propertySchema, depth + 1)) return false;
      }
    }
    return true;
  }

  private resolve(schema: unknown): Resolved {
    let current = schema;
    for (let hops = 0; hops <= MAX_REF_HOPS; hops++) {
      if (current === undefined || current === true) return { kind: "any" };
      if (current === false) return { kind: "none" };
      if (!isObject(current)) return { kind: "any" };
      const ref = current.$ref;
      if (typeof ref !== "string") return { kind: "schema", schema: current };
      if (ref === ASSET_REF) return { kind: "asset" };
      current = this.target(ref);
    }
    throw new Error(`schema $ref chain longer than ${MAX_REF_HOPS}`);
  }

  private target(ref: string): unknown {
    if (ref === "#") return this.root;
    if (ref.startsWith(DEFS_PREFIX)) {
      const name = ref.slice(DEFS_PREFIX.length).replaceAll("~1", "/").replaceAll("~0", "~");
      if (Object.hasOwn(this.defs, name)) return this.defs[name];
    }
    // Assets below an unknown reference would reach the handler as plain objects: refuse.
    throw new Error(`schema $ref cannot be resolved: ${ref}`);
  }
}

function matchesType(value: unknown, type: unknown): boolean {
  const types = Array.isArray(type) ? type : [type];
  return types.some((name) => {
    switch (name) {
      case "null":
        return value === null;
      case "boolean":
        return typeof value === "boolean";
      case "string":
        return typeof value === "string";
      case "number":
        return typeof value === "number";
      case "integer":
        return Number.isInteger(value);
      case "array":
        return Array.isArray(value);
      case "object":
        return isObject(value) && !Array.isArray(value);
      default:
        return true;
    }
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Defines the key as an own property, so that a `__proto__` key stays plain data. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}
