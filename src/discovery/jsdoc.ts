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
  return description === "" ? { tags } : { description, tags };
}
