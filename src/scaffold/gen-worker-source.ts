/** The folder of a new project that holds the packed gen-worker. */
export const VENDOR_DIR = "vendor";

/** Where a new project's gen-worker dependency comes from. */
export type GenWorkerSource =
  /** A tarball of the running gen-worker inside the project (`vendor/gen-worker-<version>.tgz`). */
  | { kind: "vendored"; tarball: string }
  /** The npm registry: `^<version>`. */
  | { kind: "registry" }
  /** A spec the user gave (GEN_WORKER_INIT_DEPENDENCY), written as is. */
  | { kind: "given"; spec: string };

/** The value of `dependencies["gen-worker"]` in the project's package.json. */
export function dependencySpec(source: GenWorkerSource, version: string): string {
  switch (source.kind) {
    case "vendored":
      return `file:${source.tarball}`;
    case "registry":
      return `^${version}`;
    case "given":
      return source.spec;
  }
}

/**
 * Where gen-worker comes from and how to move to the registry, for the project's README and init's
 * output, wrapped at 100 columns.
 */
export function sourceNote(source: GenWorkerSource, version: string): string {
  return wrap(noteText(source, version), 100);
}

function noteText(source: GenWorkerSource, version: string): string {
  const toRegistry = `once gen-worker is on the npm registry, switch with \`npm install gen-worker@^${version}\``;
  switch (source.kind) {
    case "vendored":
      return (
        `gen-worker ${version} comes from \`${source.tarball}\`, packed from the cozy-worker that made this ` +
        "project, so `npm install` needs no gen-worker on the npm registry. Commit `vendor/` with the project " +
        `(package.json names it by a relative path, so copies and clones install the same way); ${toRegistry} ` +
        `and remove \`${VENDOR_DIR}/\`.`
      );
    case "registry":
      return `gen-worker comes from the npm registry (\`^${version}\`).`;
    case "given":
      return `gen-worker comes from \`${source.spec}\` (GEN_WORKER_INIT_DEPENDENCY); ${toRegistry}.`;
  }
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join("\n");
}
