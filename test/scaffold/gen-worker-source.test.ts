import { describe, expect, it } from "vitest";
import { dependencySpec, sourceNote } from "../../src/scaffold/gen-worker-source.js";

describe("a new project's gen-worker dependency", () => {
  const vendored = { kind: "vendored", tarball: "vendor/gen-worker-1.2.3.tgz" } as const;

  it("is a relative file: spec, the registry range, or what the user gave", () => {
    expect(dependencySpec(vendored, "1.2.3")).toBe("file:vendor/gen-worker-1.2.3.tgz");
    expect(dependencySpec({ kind: "registry" }, "1.2.3")).toBe("^1.2.3");
    expect(dependencySpec({ kind: "given", spec: "file:../gen-worker" }, "1.2.3")).toBe("file:../gen-worker");
  });

  it("comes with a note that says how to move to the registry, wrapped at 100 columns", () => {
    const note = sourceNote(vendored, "1.2.3");
    expect(note.replaceAll("\n", " ")).toContain(
      "switch with `npm install gen-worker@^1.2.3` and remove `vendor/`",
    );
    expect(note.split("\n").length).toBeGreaterThan(1);
    for (const line of note.split("\n")) expect(line.length).toBeLessThanOrEqual(100);
    expect(sourceNote({ kind: "given", spec: "file:../gen-worker" }, "1.2.3")).toContain(
      "npm install gen-worker@^1.2.3",
    );
    expect(sourceNote({ kind: "registry" }, "1.2.3")).toBe(
      "gen-worker comes from the npm registry (`^1.2.3`).",
    );
  });
});
