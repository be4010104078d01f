import { relative, sep } from "node:path";
import { PACKAGE_ROOT } from "../host/package.js";
import type { EndpointFuzzResult, FindingKind, FuzzFinding, FuzzReport } from "./fuzz.js";

export interface ReportFormat {
  /** The project folder: stack paths are shown relative to it. */
  projectDir: string;
  /** The command that fuzzes one endpoint again with the same seed. */
  reproduce?: (endpoint: string) => string;
}

const KIND: Record<FindingKind, string> = {
  internal: "internal error",
  "invalid-output": "output that does not match the declared type",
  timeout: "no result within the timeout",
  crash: "uncaught error (crash)",
};

/** The first line of a report: what is fuzzed and the seed that reproduces it. */
export function fuzzHeader(endpoints: number, runs: number, seed: number, timeoutMs: number): string {
  return `fuzzing ${endpoints} endpoint${endpoints === 1 ? "" : "s"} with ${runs} payload${runs === 1 ? "" : "s"} each, seed ${seed}, timeout ${timeoutMs} ms`;
}

/** One endpoint's result: a line, and for a finding the payload, the error and the stack. */
export function formatEndpoint(result: EndpointFuzzResult, format: ReportFormat): string[] {
  if (result.notFuzzed) return [`  SKIP  ${result.endpoint}: ${result.notFuzzed}`];
  const finding = result.finding;
  if (!finding) {
    const notes = [
      `${result.runs} payloads`,
      ...(result.refused > 0 && result.refused < result.runs
        ? [`${result.refused} refused by the handler`]
        : []),
      ...(result.refused > 0 && result.refused === result.runs
        ? [`every one refused (first: ${result.firstRefusal}): check the kit's models and files`]
        : []),
      ...(result.skipped > 0 ? [`${result.skipped} generated payloads the schema rejects, skipped`] : []),
    ];
    return [`  ok    ${result.endpoint}: ${notes.join(", ")}`];
  }
  return [
    `  FAIL  ${result.endpoint}: ${KIND[finding.kind]} on payload ${finding.failedAt}, shrunk in ${finding.shrinks} step${finding.shrinks === 1 ? "" : "s"}${finding.shrinkingCut ? " (then out of shrinking time)" : ""}${finding.reproduced ? "" : " (did not fail again when re-run: flaky)"}`,
    `        payload: ${JSON.stringify(finding.payload)}`,
    ...fileLines(finding),
    `        error:   ${finding.error.errorMessage}`,
    ...stackLines(finding, format.projectDir),
    ...(format.reproduce ? [`        again:   ${format.reproduce(result.endpoint)}`] : []),
  ];
}

/** The last line: how many endpoints failed, and the seed again. */
export function fuzzSummary(report: FuzzReport): string {
  const failed = report.endpoints.filter((result) => result.finding).length;
  const skipped = report.endpoints.filter((result) => result.notFuzzed).length;
  const total = report.endpoints.length;
  const parts = [`${failed} of ${total} endpoint${total === 1 ? "" : "s"} failed`];
  if (skipped > 0) parts.push(`${skipped} not fuzzed`);
  return `${parts.join(", ")} (seed ${report.seed})`;
}

/** The whole report as text. */
export function formatFuzzReport(report: FuzzReport, format: ReportFormat): string {
  return [
    fuzzHeader(report.endpoints.length, report.runs, report.seed, report.timeoutMs),
    ...report.endpoints.flatMap((result) => formatEndpoint(result, format)),
    fuzzSummary(report),
  ].join("\n");
}

function fileLines(finding: FuzzFinding): string[] {
  return Object.entries(finding.files).map(([ref, bytes]) => {
    const shown = [...bytes.subarray(0, 32)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const more = bytes.byteLength > 32 ? " ..." : "";
    return `        file:    ${ref} (${bytes.byteLength} byte${bytes.byteLength === 1 ? "" : "s"}${bytes.byteLength > 0 ? `: ${shown}${more}` : ""})`;
  });
}

/** The handler's frames, paths relative to the project; gen-worker's and Node's own frames left out. */
function stackLines(finding: FuzzFinding, projectDir: string): string[] {
  const stack = finding.error.stack;
  if (!stack) return [];
  const ownCode = [`${PACKAGE_ROOT}dist${sep}`, `${PACKAGE_ROOT}src${sep}`];
  const frames: string[] = [];
  for (const line of stack.split("\n").slice(1)) {
    const frame = line.trim();
    if (!frame.startsWith("at ")) continue;
    // What called the handler (the executor, the kit, the fuzzer) is not the handler's story.
    if (ownCode.some((dir) => frame.includes(dir))) break;
    if (frame.includes("node:internal")) continue;
    frames.push(
      frame.replace(/(file:\/\/)?(\/[^\s():]+)/g, (_match, _scheme, path: string) =>
        shorten(path, projectDir),
      ),
    );
    if (frames.length === 8) break;
  }
  return frames.map((frame) => `          ${frame}`);
}

function shorten(path: string, projectDir: string): string {
  const inside = relative(projectDir, path);
  return inside.startsWith("..") ? path : inside.split(sep).join("/");
}
