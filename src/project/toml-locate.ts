/** A 1-based position in a source text. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** One part of a dotted key or table header, with the offset where it starts. */
interface KeySegment {
  name: string;
  offset: number;
}

const BARE_KEY = /[A-Za-z0-9_-]+/y;
const BLANK = /[ \t\r\n]*/y;
const INLINE_SPACE = /[ \t]*/y;
const BASIC_ESCAPES: Record<string, string> = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", e: "\x1b" };

/**
 * Where the key `tablePath.key` is defined in TOML `source`: its `[table]` header, its
 * `key = ...` line, a dotted key that goes through it, or the key whose inline table holds it.
 * smol-toml reports no positions for values, so this scans the text itself; it is only used
 * to point messages at a line and returns undefined when it finds nothing.
 */
export function locateKey(
  source: string,
  tablePath: readonly string[],
  key: string,
): SourcePosition | undefined {
  const target = [...tablePath, key];
  let table: KeySegment[] = [];
  let at = 0;
  while (at < source.length) {
    at = skipBlank(source, at);
    if (at >= source.length) break;
    if (source[at] === "#") {
      at = lineEnd(source, at);
    } else if (source[at] === "[") {
      const headerStart = source[at + 1] === "[" ? at + 2 : at + 1;
      const header = readDottedKey(source, headerStart);
      table = header.segments;
      const found = matchDefinition(table, target, true);
      if (found) return positionAt(source, found.offset);
      at = lineEnd(source, header.end);
    } else {
      const assignment = readDottedKey(source, at);
      if (assignment.segments.length === 0) {
        at = lineEnd(source, at);
        continue;
      }
      const found = matchDefinition([...table, ...assignment.segments], target, false);
      if (found) return positionAt(source, found.offset);
      let valueStart = skipInlineSpace(source, assignment.end);
      if (source[valueStart] === "=") valueStart = skipInlineSpace(source, valueStart + 1);
      at = lineEnd(source, skipValue(source, valueStart));
    }
  }
  return undefined;
}

/**
 * The segment of `definition` that defines `target`: the definition is the target or lies
 * inside it, or (for `key = value` only) the target lies inside its inline value.
 */
function matchDefinition(
  definition: KeySegment[],
  target: string[],
  isHeader: boolean,
): KeySegment | undefined {
  if (isHeader && definition.length < target.length) return undefined;
  const shared = Math.min(definition.length, target.length);
  for (let i = 0; i < shared; i++) {
    if (definition[i]?.name !== target[i]) return undefined;
  }
  return definition[shared - 1];
}

function readDottedKey(source: string, start: number): { segments: KeySegment[]; end: number } {
  const segments: KeySegment[] = [];
  let at = skipInlineSpace(source, start);
  while (at < source.length) {
    const segment = readSimpleKey(source, at);
    if (!segment) break;
    segments.push({ name: segment.name, offset: at });
    at = skipInlineSpace(source, segment.end);
    if (source[at] !== ".") break;
    at = skipInlineSpace(source, at + 1);
  }
  return { segments, end: at };
}

function readSimpleKey(source: string, start: number): { name: string; end: number } | undefined {
  const quote = source[start];
  if (quote === '"' || quote === "'") {
    const end = skipString(source, start);
    const raw = source.slice(start + 1, end - 1);
    return { name: quote === '"' ? unescapeBasic(raw) : raw, end };
  }
  BARE_KEY.lastIndex = start;
  const bare = BARE_KEY.exec(source);
  return bare ? { name: bare[0], end: start + bare[0].length } : undefined;
}

function unescapeBasic(raw: string): string {
  return raw.replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|.)/g, (_, sequence: string) => {
    if (sequence.length > 1) return String.fromCodePoint(Number.parseInt(sequence.slice(1), 16));
    return BASIC_ESCAPES[sequence] ?? sequence;
  });
}

/** The offset just past the value that starts at `start`; scalars end at the line end. */
function skipValue(source: string, start: number): number {
  const first = source[start];
  if (first === '"' || first === "'") return skipString(source, start);
  if (first === "[" || first === "{") return skipBracketed(source, start);
  return start;
}

function skipBracketed(source: string, start: number): number {
  let depth = 0;
  let at = start;
  while (at < source.length) {
    const char = source[at];
    if (char === '"' || char === "'") {
      at = skipString(source, at);
      continue;
    }
    if (char === "#") {
      at = lineEnd(source, at);
      continue;
    }
    if (char === "[" || char === "{") depth++;
    if (char === "]" || char === "}") depth--;
    at++;
    if (depth === 0) return at;
  }
  return at;
}

/** Skips a basic, literal or multi-line string starting at its opening quote. */
function skipString(source: string, start: number): number {
  const quote = source[start] ?? '"';
  const delimiter = source.startsWith(quote.repeat(3), start) ? quote.repeat(3) : quote;
  let at = start + delimiter.length;
  while (at < source.length) {
    if (quote === '"' && source[at] === "\\") {
      at += 2;
    } else if (source.startsWith(delimiter, at)) {
      at += delimiter.length;
      // A multi-line string may end with one or two quotes right before its delimiter.
      while (delimiter.length === 3 && source[at] === quote) at++;
      return at;
    } else if (delimiter.length === 1 && source[at] === "\n") {
      return at;
    } else {
      at++;
    }
  }
  return at;
}

function skipBlank(source: string, start: number): number {
  return skipPattern(BLANK, source, start);
}

function skipInlineSpace(source: string, start: number): number {
  return skipPattern(INLINE_SPACE, source, start);
}

function skipPattern(pattern: RegExp, source: string, start: number): number {
  pattern.lastIndex = start;
  pattern.exec(source);
  return pattern.lastIndex;
}

function lineEnd(source: string, start: number): number {
  const newline = source.indexOf("\n", start);
  return newline === -1 ? source.length : newline;
}

function positionAt(source: string, offset: number): SourcePosition {
  const before = source.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: offset - lineStart + 1 };
}
