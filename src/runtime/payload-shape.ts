import { ValidationError } from "../contract/errors.js";
import { childPath } from "./validation.js";

/**
 * Deepest nesting of arrays and objects a payload may have; the root object is level 1. Schema
 * validation, the asset walk and msgpack's integer check all recurse, so a payload nested
 * 100,000 deep would overflow the stack in one of them; no handler's type needs more than a few
 * levels.
 */
export const MAX_PAYLOAD_DEPTH = 64;

/**
 * Most values one payload may hold: the root, every array item and every object property. One
 * million keeps validation and the asset walk well under a second, while a payload of millions of
 * small values (4 MB of msgpack nils is four million) is refused before any schema work. Bulk data
 * belongs in an `Asset` or in bytes (msgpack `bin`), which count as one value.
 */
export const MAX_PAYLOAD_VALUES = 1_000_000;

/**
 * Refuses a payload nested deeper than {@link MAX_PAYLOAD_DEPTH} or holding more than
 * {@link MAX_PAYLOAD_VALUES} values, with a {@link ValidationError} that names the limit.
 * Iterative, so it cannot overflow the stack itself; stops at the first limit crossed.
 * `what` names the payload in the message ("the payload", "input_payload").
 */
export function checkPayloadShape(payload: unknown, what = "the payload"): void {
  if (!isContainer(payload)) return;
  // One frame per open container; the frames are also the path to the current value.
  const frames: Frame[] = [frameOf(payload)];
  let values = 1;
  while (frames.length > 0) {
    const frame = frames[frames.length - 1] as Frame;
    if (frame.next >= frame.size) {
      frames.pop();
      continue;
    }
    const index = frame.next++;
    values++;
    if (values > MAX_PAYLOAD_VALUES) {
      throw new ValidationError(
        `${what} holds more than ${MAX_PAYLOAD_VALUES.toLocaleString("en-US")} values (the limit counts every array item and object property): send bulk data as a file (Asset) or as bytes`,
      );
    }
    const child = frame.keys
      ? (frame.value as Record<string, unknown>)[frame.keys[index] as string]
      : (frame.value as unknown[])[index];
    if (!isContainer(child)) continue;
    if (frames.length >= MAX_PAYLOAD_DEPTH) {
      throw new ValidationError(
        `${what} nests arrays and objects deeper than ${MAX_PAYLOAD_DEPTH} levels (the limit), at ${pathOf(frames)}: flatten the structure`,
      );
    }
    frames.push(frameOf(child));
  }
}

interface Frame {
  value: object;
  /** An object's own keys; undefined for an array. */
  keys: string[] | undefined;
  size: number;
  /** The index of the next child to visit. */
  next: number;
}

function frameOf(value: object): Frame {
  if (Array.isArray(value)) return { value, keys: undefined, size: value.length, next: 0 };
  const keys = Object.keys(value);
  return { value, keys, size: keys.length, next: 0 };
}

/** Arrays and plain objects; bytes, dates and other class instances are single values. */
function isContainer(value: unknown): value is object {
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const MAX_PATH_CHARS = 120;

/** The JSON path of the child last taken from the top frame, cut short when long. */
function pathOf(frames: readonly Frame[]): string {
  let path = "$";
  for (const frame of frames) {
    const index = frame.next - 1;
    const key = frame.keys?.[index];
    path = key === undefined ? `${path}[${index}]` : childPath(path, key);
    if (path.length > MAX_PATH_CHARS) return `${path.slice(0, MAX_PATH_CHARS)}…`;
  }
  return path;
}
