/** The line that bakes the manifest, as the build contract writes it. */
export const BAKE_LINE = "RUN mkdir -p /app/.cozy && cozy-worker discover > /app/.cozy/manifest.json";
export const ENTRYPOINT_LINE = 'ENTRYPOINT ["cozy-worker", "serve"]';

/** The build arg naming the image that holds the staged `node_modules` (see stage.ts). */
export const DEPS_ARG = "GEN_WORKER_DEPS";
export const BASE_IMAGE_ARG = "BASE_IMAGE";

export interface Instruction {
  keyword: string;
  /** The arguments, continuation lines joined, whitespace kept. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

/**
 * The instructions of a Dockerfile: comments and blank lines dropped, `\` continuations (or the
 * `# escape=` directive's character) joined, comment lines inside a continuation skipped, as
 * Docker's parser does.
 */
export function parseDockerfile(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const escapeChar = /^#\s*escape\s*=\s*(\S)/i.exec(lines[0] ?? "")?.[1] ?? "\\";
  const instructions: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  for (const [index, raw] of lines.entries()) {
    const trimmed = raw.trim();
    if (trimmed.startsWith("#") || (trimmed === "" && !pending)) continue;
    const continued = trimmed.endsWith(escapeChar);
    const part = continued ? trimmed.slice(0, -1) : trimmed;
    pending ??= { parts: [], line: index + 1 };
    pending.parts.push(part);
    if (continued) continue;
    const joined = pending.parts.join(" ").trim();
    const match = /^(\S+)\s*([\s\S]*)$/.exec(joined);
    if (match?.[1]) {
      instructions.push({ keyword: match[1].toUpperCase(), args: match[2] ?? "", line: pending.line });
    }
    pending = undefined;
  }
  return instructions;
}

export interface DockerfileFacts {
  /** Problems that stop the build, each quoting the line to add. */
  problems: string[];
  /** `ARG BASE_IMAGE` comes before a `FROM ${BASE_IMAGE}`: `--base-image` can replace it. */
  baseImageArg: boolean;
  /** `ARG GEN_WORKER_DEPS` is declared: the build stages the dependencies and passes their image. */
  depsArg: boolean;
}

/** What the build contract needs from a Dockerfile, and which build args it takes. */
export function checkDockerfile(text: string, name = "Dockerfile"): DockerfileFacts {
  const instructions = parseDockerfile(text);
  const problems: string[] = [];
  const froms = instructions.filter((instruction) => instruction.keyword === "FROM");
  if (froms.length === 0)
    problems.push(`${name} has no FROM line: start it with a base image, e.g. FROM node:22-bookworm-slim`);
  const lastFrom = froms.at(-1)?.line ?? 0;
  const finalStage = instructions.filter((instruction) => instruction.line >= lastFrom);

  const bakes = instructions.some(
    (instruction) =>
      instruction.keyword === "RUN" &&
      /\bcozy-worker\s+discover\b/.test(instruction.args) &&
      /\/app\/\.cozy\/manifest\.json/.test(instruction.args),
  );
  if (!bakes) {
    problems.push(
      `${name} does not bake the manifest: add this line after the project's files are copied:\n  ${BAKE_LINE}`,
    );
  }

  const entrypoint = finalStage.filter((instruction) => instruction.keyword === "ENTRYPOINT").at(-1);
  if (!entrypoint) {
    problems.push(`${name} has no ENTRYPOINT: end it with\n  ${ENTRYPOINT_LINE}`);
  } else if (!runsServe(entrypoint.args)) {
    problems.push(
      `${name}:${entrypoint.line}: the ENTRYPOINT must run the worker in exec form: replace it with\n  ${ENTRYPOINT_LINE}`,
    );
  }

  const globalArgs = instructions
    .filter((instruction) => instruction.keyword === "ARG" && instruction.line < (froms[0]?.line ?? 0))
    .map((instruction) => /^([A-Za-z_][A-Za-z0-9_]*)/.exec(instruction.args)?.[1]);
  const fromUses = (arg: string) => froms.some((from) => new RegExp(`\\$\\{?${arg}\\b`).test(from.args));
  return {
    problems,
    baseImageArg: globalArgs.includes(BASE_IMAGE_ARG) && fromUses(BASE_IMAGE_ARG),
    depsArg: globalArgs.includes(DEPS_ARG) && fromUses(DEPS_ARG),
  };
}

/** An exec-form (JSON array) ENTRYPOINT whose program is cozy-worker (or its .js) followed by `serve`. */
function runsServe(args: string): boolean {
  let argv: unknown;
  try {
    argv = JSON.parse(args);
  } catch {
    return false;
  }
  return (
    Array.isArray(argv) && argv.every((arg) => typeof arg === "string") && runnerProgram(argv) !== undefined
  );
}

/** `["cozy-worker", "serve"]` → `["cozy-worker"]`: the ENTRYPOINT's program up to the command. */
export function runnerProgram(entrypoint: string[]): string[] | undefined {
  const index = entrypoint.findIndex(
    (arg, i) => /(^|\/)cozy-worker(\.js)?$/.test(arg) && entrypoint[i + 1] === "serve",
  );
  return index === -1 ? undefined : entrypoint.slice(0, index + 1);
}
