import { ts } from "ts-morph";

export interface DocTag {
  name: string;
  text: string;
}

export interface Doc {
  description?: string;
  tags: DocTag[];
}

/** The JSDoc description and tags of a declared symbol (function, type or property). */
export function readDoc(symbol: ts.Symbol, checker: ts.TypeChecker): Doc {
  const description = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  const tags = symbol
    .getJsDocTags(checker)
    .map((tag) => ({ name: tag.name, text: ts.displayPartsToString(tag.text ?? []).trim() }));
  if (description === "" && tags.length === 0) {
    const sameLine = sameLineDoc(symbol);
    if (sameLine) return sameLine;
  }
  return description === "" ? { tags } : { description, tags };
}

/**
 * TypeScript reads `a: number; /** @default 0 *\/ b?: number` as a comment trailing `a`, so `b` gets
 * no JSDoc. A doc comment between the previous member and a property on the same line is the
 * property's: it is parsed here by TypeScript's own JSDoc parser.
 */
function sameLineDoc(symbol: ts.Symbol): Doc | undefined {
  for (const declaration of symbol.getDeclarations() ?? []) {
    if (!ts.isPropertySignature(declaration) && !ts.isPropertyDeclaration(declaration)) continue;
    const sourceFile = declaration.getSourceFile();
    const ranges = ts.getTrailingCommentRanges(sourceFile.text, declaration.getFullStart()) ?? [];
    const comment = ranges
      .map((range) => sourceFile.text.slice(range.pos, range.end))
      .filter((text) => text.startsWith("/**"))
      .at(-1);
    if (comment) return parseDocComment(comment);
  }
  return undefined;
}

function parseDocComment(comment: string): Doc {
  const holder = ts.createSourceFile(
    "doc.ts",
    `${comment}\nlet documented: unknown;`,
    ts.ScriptTarget.ES2022,
    true,
  );
  const statement = holder.statements[0] as ts.Node;
  const [jsDoc] = ts.getJSDocCommentsAndTags(statement).filter(ts.isJSDoc);
  const description = ts.getTextOfJSDocComment(jsDoc?.comment)?.trim() ?? "";
  const tags = (jsDoc?.tags ?? []).map((tag) => ({
    name: tag.tagName.text,
    text: ts.getTextOfJSDocComment(tag.comment)?.trim() ?? "",
  }));
  return description === "" ? { tags } : { description, tags };
}
