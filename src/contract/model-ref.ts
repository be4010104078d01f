import { UserError } from "./user-errors.js";
/** A model reference: a Hugging Face repo or a Cozy Hub repo. */
export type ModelRef =
  | { scheme: "hf"; repo: string; revision?: string }
  | { scheme: "cozy"; owner: string; repo: string; tag: string; digest?: string };

/** A model ref that cannot be parsed; the message says what a valid one looks like. */
export class ModelRefError extends UserError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

const DEFAULT_COZY_TAG = "latest";
const HF_EXAMPLES = "for example hf:openai-community/gpt2 or hf:owner/repo@main";
const COZY_EXAMPLES = "for example cozy:owner/repo, cozy:owner/repo:v1 or cozy:owner/repo@sha256:<hex>";
const DIGEST_PATTERN = /^(sha256|blake3):([0-9a-f]+)$/i;

/**
 * Parses `hf:owner/repo[@rev]` or `cozy:owner/repo[:tag|@sha256:<hex>|@blake3:<hex>]`.
 * Text without a recognized scheme is read as a cozy ref, so `owner/repo:tag` works too.
 */
export function parseModelRef(input: string): ModelRef {
  const text = input.trim();
  if (text === "") throw new ModelRefError("empty model ref: write hf:owner/repo or cozy:owner/repo[:tag]");
  if (/\s/.test(text)) {
    throw new ModelRefError(
      `model ref ${JSON.stringify(input)} must not contain spaces: write hf:owner/repo or cozy:owner/repo[:tag]`,
    );
  }
  const colon = text.indexOf(":");
  const scheme = colon === -1 ? "" : text.slice(0, colon).toLowerCase();
  if (scheme === "hf") return parseHfRef(text.slice(colon + 1), input);
  if (scheme === "cozy") return parseCozyRef(text.slice(colon + 1), input);
  return parseCozyRef(text, input);
}

/** The canonical text of a ref: `hf:<repo>[@<rev>]`, `cozy:<owner>/<repo>:<tag>` or `cozy:<owner>/<repo>@<digest>`. */
export function formatModelRef(ref: ModelRef): string {
  if (ref.scheme === "hf") return ref.revision ? `hf:${ref.repo}@${ref.revision}` : `hf:${ref.repo}`;
  const name = `cozy:${ref.owner}/${ref.repo}`;
  return ref.digest ? `${name}@${ref.digest}` : `${name}:${ref.tag}`;
}

/** The canonical form of `input`, or `input` unchanged when it does not parse (as the Python SDK worker does). */
export function canonicalizeModelRef(input: string): string {
  try {
    return formatModelRef(parseModelRef(input));
  } catch (error) {
    if (error instanceof ModelRefError) return input;
    throw error;
  }
}

function parseHfRef(body: string, input: string): ModelRef {
  // The Python SDK tolerates a doubled `hf:hf:`; any repetition is dropped so the canonical form is stable.
  const withoutDoubledPrefix = body.replace(/^(hf:)+/i, "");
  if (withoutDoubledPrefix === "") {
    throw new ModelRefError(`empty hf model ref ${JSON.stringify(input)}: name a repo, ${HF_EXAMPLES}`);
  }
  const [repo, revision = ""] = splitOnce(withoutDoubledPrefix, "@");
  const [owner, name = ""] = splitOnce(repo, "/");
  if (owner === "" || name === "") {
    throw new ModelRefError(`hf ref ${JSON.stringify(input)} must be 'owner/repo' (${HF_EXAMPLES})`);
  }
  return revision === "" ? { scheme: "hf", repo } : { scheme: "hf", repo, revision };
}

function parseCozyRef(body: string, input: string): ModelRef {
  const [nameAndTag, digestText] = splitOnce(body, "@");
  const digest = digestText === undefined ? undefined : parseDigest(digestText, input);
  const tagStart = nameAndTag.lastIndexOf(":");
  const name = tagStart === -1 ? nameAndTag : nameAndTag.slice(0, tagStart);
  const tag = tagStart === -1 ? "" : nameAndTag.slice(tagStart + 1);
  const [owner, repo = ""] = splitOnce(name, "/");
  // A colon inside the name would be read as a tag separator once the ref is written back.
  if (owner === "" || repo === "" || name.includes(":")) {
    const problem = body === "" ? "is empty" : "must be 'owner/repo'";
    throw new ModelRefError(`cozy ref ${JSON.stringify(input)} ${problem} (${COZY_EXAMPLES})`);
  }
  const ref: ModelRef = { scheme: "cozy", owner, repo, tag: tag || DEFAULT_COZY_TAG };
  return digest === undefined ? ref : { ...ref, digest };
}

/** `SHA256:ABC` becomes `sha256:ABC`: the algorithm is lowercased, the hex kept as written. */
function parseDigest(digestText: string, input: string): string {
  const match = DIGEST_PATTERN.exec(digestText);
  if (!match?.[1] || !match[2]) {
    throw new ModelRefError(
      `cozy ref digest must use @sha256:<hex> or @blake3:<hex>, found "@${digestText}" in ${JSON.stringify(input)} (${COZY_EXAMPLES})`,
    );
  }
  return `${match[1].toLowerCase()}:${match[2]}`;
}

/** Splits at the first `separator`; the second part is undefined when there is none. */
function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}
