import { createHash } from "node:crypto";
import { extensionForMime, sniffMime } from "../runtime/files/mime.js";

/** The ref the kit serves given bytes under: named by their content, so equal bytes share one file. */
export function inputRef(bytes: Uint8Array): string {
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const extension = extensionForMime(sniffMime(bytes));
  return `inputs/${hash}${extension ? `.${extension}` : ".bin"}`;
}

/**
 * A copy of a payload in which every `Uint8Array` (the bytes of an Asset field) is replaced by
 * `{ref}`, each handed to `serve` first. Other values are copied as they are.
 */
export function replaceBytes(value: unknown, serve: (ref: string, bytes: Uint8Array) => void): unknown {
  if (value instanceof Uint8Array) {
    const ref = inputRef(value);
    serve(ref, value);
    return { ref };
  }
  if (Array.isArray(value)) return value.map((item) => replaceBytes(item, serve));
  if (value !== null && typeof value === "object" && isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty: a key named "__proto__" stays a key.
      Object.defineProperty(copy, key, {
        value: replaceBytes(item, serve),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return copy;
  }
  return value;
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
