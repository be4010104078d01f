import { describe, expect, it } from "vitest";
import type { Problem } from "../../src/contract/problems.js";
import { ProjectReport } from "../../src/dev/project-report.js";

function recorder() {
  const lines: string[] = [];
  const report = new ProjectReport({
    info: (message) => lines.push(`info: ${message}`),
    warn: (message) => lines.push(`warning: ${message}`),
  });
  return { report, lines };
}

const at = (line: number, message = "m"): Problem => ({ file: "/p/src/main.ts", line, column: 3, message });

describe("ProjectReport", () => {
  it("prints discovery warnings when they change, and says when they are gone", () => {
    const { report, lines } = recorder();
    report.discoveryWarnings([]);
    report.discoveryWarnings([at(1, "typo")]);
    report.discoveryWarnings([at(1, "typo")]);
    report.discoveryWarnings([at(1, "typo"), at(2, "other")]);
    report.discoveryWarnings([]);
    report.discoveryWarnings([]);
    expect(lines).toEqual([
      "warning: /p/src/main.ts:1:3: typo",
      "warning: /p/src/main.ts:1:3: typo",
      "warning: /p/src/main.ts:2:3: other",
      "info: the project's warnings are fixed",
    ]);
  });

  it("prints type errors under a count when they change, at most 20, and says when they are fixed", () => {
    const { report, lines } = recorder();
    report.typeCheck([]);
    report.typeCheck([]);
    report.typeCheck([at(4, "Type 'string' is not assignable to type 'number'.")]);
    report.typeCheck([at(4, "Type 'string' is not assignable to type 'number'.")]);
    expect(lines).toEqual([
      "info: the handlers type-check",
      "warning: 1 type error in the handlers: they still run here, but cozy-worker build refuses them until fixed",
      "warning: /p/src/main.ts:4:3: Type 'string' is not assignable to type 'number'.",
    ]);
    lines.length = 0;
    report.typeCheck(Array.from({ length: 23 }, (_, i) => at(i + 1)));
    expect(lines[0]).toBe(
      "warning: 23 type errors in the handlers: they still run here, but cozy-worker build refuses them until fixed",
    );
    expect(lines.slice(1, -1)).toHaveLength(20);
    expect(lines.at(-1)).toBe("warning: ... and 3 more");
    lines.length = 0;
    report.typeCheck([]);
    expect(lines).toEqual(["info: the type errors are fixed: the handlers type-check"]);
  });
});
