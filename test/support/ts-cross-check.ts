/**
 * Asks the TypeScript checker itself whether JSON values belong to a handler's payload, output or
 * delta type, to show that the property tests' value oracle (type-arbitrary.ts) matches the type.
 *
 * The values are written as `const v0: T = <JSON>;` into one in-memory source file next to the
 * tenant's entry module. `T` is the handler's type seen through `Wire<...>`, which only undoes
 * what JSON cannot carry: an `Asset` is its wire object (snake_case data fields, no methods), a
 * string enum member is its value (an enum member cannot be written as a JSON literal), and a
 * property whose type admits `undefined` may be absent (JSON has no `undefined`).
 */
import { basename, dirname, join } from "node:path";
import { type Project, ts } from "ts-morph";

export type TypeRole = "payload" | "output" | "delta";

export interface LiteralCase {
  exportName: string;
  role: TypeRole;
  value: unknown;
}

export interface LiteralResult {
  case: LiteralCase;
  /** The checker's messages about this value's declaration (none: TypeScript accepts it). */
  errors: string[];
}

const PRELUDE = `import type { Asset } from "gen-worker";
type AssetWire = {
  ref: string;
  owner?: string | null;
  local_path?: string | null;
  mime_type?: string | null;
  size_bytes?: number | null;
  sha256?: string | null;
};
type Wire<T> = T extends Asset
  ? AssetWire
  : T extends string
    ? \`\${T}\`
    : T extends number
      ? T
      : T extends readonly unknown[]
        ? T[number][] extends T
          ? WireArray<T[number]>
          : readonly T[number][] extends T
            ? ReadonlyWireArray<T[number]>
            : { [K in keyof T]: Wire<T[K]> }
        : T extends object
          ? Flat<WireObject<T>>
          : T;
// Interfaces defer their type arguments, so recursive aliases such as \`type J = J[] | ...\` end.
interface WireArray<E> extends Array<Wire<E>> {}
interface ReadonlyWireArray<E> extends ReadonlyArray<Wire<E>> {}
type UndefinedKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];
// One object type (not an intersection), so that TypeScript's weak-type check still applies.
type Flat<T> = { [K in keyof T]: T[K] };
type WireObject<T> = { [K in keyof T as K extends UndefinedKeys<T> ? never : K]: Wire<T[K]> } & {
  [K in keyof T as K extends UndefinedKeys<T> ? K : never]?: Wire<T[K]>;
};
type DeltaOf<R> = R extends AsyncIterable<infer D> ? D : R extends Iterable<infer D> ? D : never;
`;

function typeExpression(exportName: string, role: TypeRole): string {
  const handler = `(typeof M)[${JSON.stringify(exportName)}]`;
  switch (role) {
    case "payload":
      return `Wire<Parameters<${handler}>[1]>`;
    case "output":
      return `Wire<Awaited<ReturnType<${handler}>>>`;
    case "delta":
      return `Wire<DeltaOf<ReturnType<${handler}>>>`;
  }
}

/** Type-checks every value against its handler type in one program; returns the errors of each. */
export function typeCheckLiterals(project: Project, mainPath: string, cases: LiteralCase[]): LiteralResult[] {
  const aliases = new Map<string, string>();
  let text = `import type * as M from ${JSON.stringify(`./${basename(mainPath)}`)};\n${PRELUDE}`;
  for (const { exportName, role } of cases) {
    const key = `${role}:${exportName}`;
    if (aliases.has(key)) continue;
    const alias = `T${aliases.size}`;
    aliases.set(key, alias);
    text += `type ${alias} = ${typeExpression(exportName, role)};\n`;
  }
  const headerEnd = text.length;
  const starts: number[] = [];
  cases.forEach((literal, index) => {
    starts.push(text.length);
    const alias = aliases.get(`${literal.role}:${literal.exportName}`);
    text += `const v${index}: ${alias} = ${JSON.stringify(literal.value)};\n`;
  });

  const path = join(dirname(mainPath), "__schema_property_oracle__.ts");
  const sourceFile = project.createSourceFile(path, text, { overwrite: true });
  try {
    const program = project.getProgram().compilerObject;
    const file = program.getSourceFile(sourceFile.getFilePath());
    if (!file) throw new Error(`the checker did not load ${path}`);
    const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    const errors: string[][] = cases.map(() => []);
    for (const diagnostic of diagnostics) {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
      const start = diagnostic.start ?? 0;
      if (start < headerEnd) throw new Error(`the type-check prelude does not compile: ${message}`);
      let index = starts.length - 1;
      while (index > 0 && (starts[index] ?? 0) > start) index--;
      errors[index]?.push(message);
    }
    return cases.map((literal, index) => ({ case: literal, errors: errors[index] ?? [] }));
  } finally {
    project.removeSourceFile(sourceFile);
  }
}
