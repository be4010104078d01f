import { ts } from "ts-morph";
import { SDK_ENTRY } from "./program.js";

const SDK_DIR = SDK_ENTRY.slice(0, SDK_ENTRY.lastIndexOf("/") + 1);

/** The gen-worker types that mean something to discovery. */
export type SdkTypeName = "ActionContext" | "Asset" | "Model" | "PayloadModel" | "Integer" | "RealtimeSocket";

/** Whether a symbol is one of gen-worker's own public types (following import aliases). */
export function isSdkSymbol(
  symbol: ts.Symbol | undefined,
  name: SdkTypeName,
  checker: ts.TypeChecker,
): boolean {
  if (!symbol) return false;
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  if (target.getName() !== name) return false;
  return (target.getDeclarations() ?? []).some((decl) => isSdkFile(decl.getSourceFile().fileName));
}

/** Whether a source file is one of gen-worker's own (its public types and what they import). */
export function isSdkFile(fileName: string): boolean {
  return fileName.startsWith(SDK_DIR);
}

/** Whether a type is (an instantiation of) the named gen-worker type. */
export function isSdkType(type: ts.Type, name: SdkTypeName, checker: ts.TypeChecker): boolean {
  return isSdkSymbol(type.aliasSymbol, name, checker) || isSdkSymbol(type.getSymbol(), name, checker);
}

/** `Integer` is `number & { "~integer"?: never }`; the brand survives unions and arrays. */
export function isIntegerBrand(type: ts.Type, checker: ts.TypeChecker): boolean {
  if (isSdkSymbol(type.aliasSymbol, "Integer", checker)) return true;
  if (!type.isIntersection()) return false;
  return (
    type.types.some((part) => part.flags & ts.TypeFlags.Number) &&
    type.types.some((part) => part.getProperty("~integer") !== undefined)
  );
}
