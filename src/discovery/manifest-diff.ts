import type { JsonSchema } from "../contract/json-schema.js";
import type { Manifest, ManifestFunction } from "../contract/manifest.js";
import { canonicalJson } from "../util/canonical-json.js";
import { type Direction, diffSchemas, type SchemaChange, type SchemaChangeKind } from "./schema-diff.js";

export type ChangeKind =
  | "endpoint-removed"
  | "endpoint-added"
  | "output-mode-changed"
  | "model-removed"
  | "model-added"
  | "model-changed"
  | SchemaChangeKind;

/** One change to an endpoint, and whether it breaks the clients of the old manifest. */
export interface Change {
  kind: ChangeKind;
  breaking: boolean;
  /** Which schema it is in; null for a change to the endpoint itself. */
  side: "input" | "output" | null;
  /** The field (see {@link SchemaChange.path}); null for a change to the endpoint itself, "" for the whole schema. */
  path: string | null;
  message: string;
}

export interface EndpointDiff {
  endpoint: string;
  status: "added" | "removed" | "changed";
  /** A removed endpoint whose schemas an added one has: probably renamed to it. */
  renamed_to: string | null;
  /** An added endpoint whose schemas a removed one had. */
  renamed_from: string | null;
  /** Breaking changes first. */
  changes: Change[];
}

/** What `cozy-worker diff --json` prints (plus `old` and `new`): docs/diff.md. */
export interface ManifestDiff {
  breaking: boolean;
  counts: { breaking: number; compatible: number };
  /** The endpoints that changed: those with breaking changes first, then by name. */
  endpoints: EndpointDiff[];
}

/**
 * What changed from the manifest clients use now to the one that would replace it, per endpoint
 * (matched by `endpoint_name`). An input breaks when it accepts less, an output when it may hold
 * more (or lose a field clients read), an endpoint when it goes, its output mode flips or a model
 * key it offers goes.
 */
export function diffManifests(before: Manifest, after: Manifest): ManifestDiff {
  const oldEndpoints = byEndpoint(before);
  const newEndpoints = byEndpoint(after);
  const removed = [...oldEndpoints.keys()].filter((name) => !newEndpoints.has(name));
  const added = [...newEndpoints.keys()].filter((name) => !oldEndpoints.has(name));
  const renames = findRenames(removed, added, oldEndpoints, newEndpoints);
  const endpoints: EndpointDiff[] = [];
  for (const name of removed) {
    const to = renames.get(name) ?? null;
    const message = to === null ? "endpoint removed" : `endpoint removed (renamed to "${to}"?)`;
    endpoints.push(entry(name, "removed", [endpointChange("endpoint-removed", true, message)], { to }));
  }
  for (const name of added) {
    const from = [...renames].find(([, to]) => to === name)?.[0] ?? null;
    const message = from === null ? "endpoint added" : `endpoint added (renamed from "${from}"?)`;
    endpoints.push(entry(name, "added", [endpointChange("endpoint-added", false, message)], { from }));
  }
  for (const [name, fn] of oldEndpoints) {
    const other = newEndpoints.get(name);
    if (!other) continue;
    const changes = functionChanges(before, fn, after, other);
    if (changes.length > 0) endpoints.push(entry(name, "changed", changes, {}));
  }
  const all = endpoints.flatMap((endpoint) => endpoint.changes);
  const breaking = all.filter((change) => change.breaking).length;
  const hasBreaking = (endpoint: EndpointDiff) =>
    endpoint.changes.some((change) => change.breaking) ? 0 : 1;
  endpoints.sort(
    (a, b) =>
      hasBreaking(a) - hasBreaking(b) || (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0),
  );
  return { breaking: breaking > 0, counts: { breaking, compatible: all.length - breaking }, endpoints };
}

/** The report as text: a header per endpoint, then one line per change, BREAKING ones first. */
export function formatManifestDiff(diff: ManifestDiff): string[] {
  const lines: string[] = [];
  for (const endpoint of diff.endpoints) {
    const breaking = endpoint.changes.filter((change) => change.breaking).length;
    const compatible = endpoint.changes.length - breaking;
    lines.push(`endpoint ${endpoint.endpoint}: ${countText(breaking, compatible)}`);
    for (const change of endpoint.changes)
      lines.push(`  ${change.breaking ? "BREAKING  " : "compatible"}  ${change.message}`);
  }
  return lines;
}

/** `2 breaking changes, 1 compatible change`, or `no changes`. */
export function summarizeDiff(diff: ManifestDiff): string {
  if (diff.counts.breaking + diff.counts.compatible === 0) return "no changes";
  return countText(diff.counts.breaking, diff.counts.compatible, true);
}

function countText(breaking: number, compatible: number, long = false): string {
  const noun = (count: number) => (long ? ` change${count === 1 ? "" : "s"}` : "");
  return [
    ...(breaking > 0 ? [`${breaking} breaking${noun(breaking)}`] : []),
    ...(compatible > 0 ? [`${compatible} compatible${noun(compatible)}`] : []),
  ].join(", ");
}

function byEndpoint(manifest: Manifest): Map<string, ManifestFunction> {
  const functions = [...manifest.functions].sort((a, b) =>
    a.endpoint_name < b.endpoint_name ? -1 : a.endpoint_name > b.endpoint_name ? 1 : 0,
  );
  return new Map(functions.map((fn) => [fn.endpoint_name, fn]));
}

/** Each removed endpoint paired with the first unpaired added one whose schemas and output mode it had. */
function findRenames(
  removed: string[],
  added: string[],
  oldEndpoints: Map<string, ManifestFunction>,
  newEndpoints: Map<string, ManifestFunction>,
): Map<string, string> {
  const renames = new Map<string, string>();
  const free = new Set(added);
  for (const name of removed) {
    const before = oldEndpoints.get(name) as ManifestFunction;
    const match = [...free].find((candidate) => {
      const after = newEndpoints.get(candidate) as ManifestFunction;
      const same = (changes: SchemaChange[]) => changes.every((c) => c.kind === "description-changed");
      return (
        outputMode(before) === outputMode(after) &&
        same(diffSchemas(before.input_schema, after.input_schema)) &&
        same(diffSchemas(before.output_schema, after.output_schema))
      );
    });
    if (match === undefined) continue;
    renames.set(name, match);
    free.delete(match);
  }
  return renames;
}

function functionChanges(
  oldManifest: Manifest,
  before: ManifestFunction,
  newManifest: Manifest,
  after: ManifestFunction,
): Change[] {
  const changes: Change[] = [];
  const [oldMode, newMode] = [outputMode(before), outputMode(after)];
  if (oldMode !== newMode) {
    const what =
      newMode === "incremental" ? "a single result became a stream" : "a stream became a single result";
    changes.push(
      endpointChange("output-mode-changed", true, `output mode ${oldMode} → ${newMode} (${what})`),
    );
  }
  changes.push(...schemaChanges("input", before.input_schema, after.input_schema));
  changes.push(...schemaChanges("output", before.output_schema, after.output_schema));
  const oldModels = modelKeys(oldManifest, before);
  const newModels = modelKeys(newManifest, after);
  for (const [key, spec] of oldModels) {
    const next = newModels.get(key);
    if (next === undefined) changes.push(endpointChange("model-removed", true, `model key "${key}" removed`));
    else if (spec !== null && next !== null && canonicalJson(spec) !== canonicalJson(next))
      changes.push(endpointChange("model-changed", false, `model key "${key}": ${modelChange(spec, next)}`));
  }
  for (const key of newModels.keys())
    if (!oldModels.has(key)) changes.push(endpointChange("model-added", false, `model key "${key}" added`));
  if ((before.description ?? "") !== (after.description ?? ""))
    changes.push(endpointChange("description-changed", false, "description changed"));
  return [...changes.filter((change) => change.breaking), ...changes.filter((change) => !change.breaking)];
}

/** A schema change is breaking for an input that accepts less, or an output that may hold more. */
function schemaChanges(side: "input" | "output", before: JsonSchema, after: JsonSchema): Change[] {
  const breaks: Record<Direction, boolean> = {
    changed: true,
    neutral: false,
    narrower: side === "input",
    wider: side === "output",
  };
  return diffSchemas(before, after).map((change) => ({
    kind: change.kind,
    breaking: breaks[change.direction],
    side,
    path: change.path,
    message: `${side}${change.path === "" ? "" : ` field "${change.path}"`}: ${change.detail}`,
  }));
}

/** The model keys an endpoint offers: its keyspace (`models_by_function`) and the keys it injects. */
function modelKeys(manifest: Manifest, fn: ManifestFunction): Map<string, unknown> {
  const keys = new Map<string, unknown>(Object.entries(manifest.models_by_function?.[fn.name] ?? {}));
  for (const injection of fn.injection_json ?? []) {
    if (injection.model_ref?.source === "fixed" && !keys.has(injection.model_ref.key))
      keys.set(injection.model_ref.key, null);
  }
  return keys;
}

/** `hf:a → hf:b` when the ref changed, else the whole specs (dtypes, files). */
function modelChange(before: unknown, after: unknown): string {
  const refOf = (spec: unknown) => (spec as { ref?: unknown }).ref;
  const refsDiffer = refOf(before) !== refOf(after) && typeof refOf(after) === "string";
  return refsDiffer
    ? `${String(refOf(before))} → ${String(refOf(after))}`
    : `${canonicalJson(before)} → ${canonicalJson(after)}`;
}

function outputMode(fn: ManifestFunction): "single" | "incremental" {
  return fn.output_mode ?? (fn.incremental_output ? "incremental" : "single");
}

function endpointChange(kind: ChangeKind, breaking: boolean, message: string): Change {
  return { kind, breaking, side: null, path: null, message };
}

function entry(
  endpoint: string,
  status: EndpointDiff["status"],
  changes: Change[],
  rename: { to?: string | null; from?: string | null },
): EndpointDiff {
  return { endpoint, status, renamed_to: rename.to ?? null, renamed_from: rename.from ?? null, changes };
}
