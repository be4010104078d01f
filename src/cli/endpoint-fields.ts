import { existsSync } from "node:fs";
import type { ManifestFunction } from "../contract/manifest.js";
import { InputFields } from "./input-fields.js";

/**
 * An endpoint's fields, or why they are not known: then `key=value` stays a string, which
 * `unknownBecause` says once. Neither: an endpoint the target does not have, which the run reports.
 */
export interface EndpointFields {
  fields?: InputFields;
  unknownBecause?: string;
}

/** The fields of `endpoint` on the dev runner at `url`, from its `GET /v1/functions`. */
export async function devRunnerFields(url: string, endpoint: string): Promise<EndpointFields> {
  const { describeDevRunnerFunctions } = await import("../adapters/http/client.js");
  const functions = await describeDevRunnerFunctions(url);
  if (functions === undefined) {
    return {
      unknownBecause: `the dev runner at ${url} does not list its endpoints' fields (it runs an older gen-worker)`,
    };
  }
  const fn = functions.find((f) => f.name === endpoint || f.endpoint === endpoint);
  return fn ? { fields: new InputFields(fn.input_schema) } : {};
}

/**
 * With `--scheduler` there is no runner to ask: the fields come from the manifest of the project
 * in `dir`, or of this folder when it holds cozy.toml.
 */
export async function projectFields(dir: string | undefined, endpoint: string): Promise<EndpointFields> {
  const projectDir = dir ?? (existsSync("cozy.toml") ? "." : undefined);
  if (projectDir === undefined) {
    return {
      unknownBecause: `there is no project folder to read ${endpoint}'s fields from (run invoke in it, or give --project <dir>)`,
    };
  }
  const { discover } = await import("../discovery/discover.js");
  let functions: ManifestFunction[];
  try {
    ({ functions } = (await discover(projectDir)).manifest);
  } catch (error) {
    // A project named on the command line must discover; one that merely sits here need not be the worker's.
    if (dir !== undefined) throw error;
    return {
      unknownBecause: "the project in this folder does not discover (cozy-worker discover . says why)",
    };
  }
  const fn = functions.find((f) => f.name === endpoint || f.endpoint_name === endpoint);
  if (fn) return { fields: new InputFields(fn.input_schema) };
  const names = functions.map((f) => f.name).join(", ") || "none";
  return {
    unknownBecause: `the project in ${projectDir} has no endpoint ${endpoint} (its endpoints: ${names})`,
  };
}

/**
 * What to tell before the run goes out: each field the endpoint does not declare, with the one it
 * most likely misspells; or, once, that `key=value` fields go as strings because the fields are unknown.
 */
export function fieldWarnings(
  endpoint: string,
  known: EndpointFields,
  tokens: readonly string[],
  payload: unknown,
): string[] {
  const { fields, unknownBecause } = known;
  if (fields === undefined) {
    const hasKeyValue = tokens.some((token) => /^[^=:@]+=/.test(token));
    return unknownBecause !== undefined && hasKeyValue
      ? [
          `key=value fields are sent as strings: ${unknownBecause}; write key:=<json> for numbers, booleans, null and files ({"ref": "<file or URL>"})`,
        ]
      : [];
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return [];
  return Object.keys(payload)
    .filter((key) => fields.isUnknown(key))
    .map((key) => {
      const nearest = fields.nearest(key);
      const hint = nearest ? `did you mean "${nearest}"?` : `its fields: ${fields.names.join(", ")}`;
      return `${endpoint} has no field "${key}" (${hint}); sending it anyway`;
    });
}
