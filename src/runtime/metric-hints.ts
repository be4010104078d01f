import type { RunMetrics } from "../contract/events.js";

/** The payload fields `metrics.run` reports, as the Python SDK read them. */
export type MetricHints = Pick<RunMetrics, "steps" | "width" | "height" | "guidance">;

const MAX_REF_HOPS = 64;
const DEFS_PREFIX = "#/$defs/";

/**
 * The Python SDK's "diffusion-ish" hints for `metrics.run`, read from the validated payload's
 * declared fields: `steps` from `num_inference_steps`, else `steps`; `guidance` from
 * `guidance_scale`, else `guidance`; `width` and `height`. Only numbers count (not booleans);
 * `steps`, `width` and `height` are truncated to integers. As in the Python SDK (`a or b`), a 0 in
 * the first field of a pair falls through to the second. Fields the payload type does not declare
 * are ignored, as the Python SDK's decoder dropped them: a client cannot write the metrics.
 */
export function metricHints(inputSchema: Record<string, unknown>, payload: unknown): MetricHints {
  const hints: MetricHints = {};
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return hints;
  const declared = declaredProperties(inputSchema);
  const record = payload as Record<string, unknown>;
  const num = (name: string): number | undefined => {
    if (!declared.has(name)) return undefined;
    const value = record[name];
    return typeof value === "number" && Number.isFinite(value) ? value : undefined;
  };
  const steps = num("num_inference_steps") || num("steps");
  if (steps !== undefined) hints.steps = Math.trunc(steps);
  const guidance = num("guidance_scale") || num("guidance");
  if (guidance !== undefined) hints.guidance = guidance;
  const width = num("width");
  if (width !== undefined) hints.width = Math.trunc(width);
  const height = num("height");
  if (height !== undefined) hints.height = Math.trunc(height);
  return hints;
}

/** `iters_per_s` as the Python SDK computed it: steps per second of `inference_ms`, when both are known. */
export function itersPerSecond(
  steps: number | undefined,
  inferenceMs: number | undefined,
): number | undefined {
  if (steps === undefined || inferenceMs === undefined || inferenceMs <= 0) return undefined;
  return steps / (inferenceMs / 1000);
}

/** The property names of the payload's object type (discovery's root is `{$ref, $defs}`). */
function declaredProperties(root: Record<string, unknown>): Set<string> {
  const defs = isObject(root.$defs) ? root.$defs : {};
  let current: unknown = root;
  for (let hops = 0; hops <= MAX_REF_HOPS && isObject(current); hops++) {
    const ref = current.$ref;
    if (typeof ref !== "string") {
      return new Set(isObject(current.properties) ? Object.keys(current.properties) : []);
    }
    if (ref === "#") current = root;
    else if (ref.startsWith(DEFS_PREFIX)) {
      const name = ref.slice(DEFS_PREFIX.length).replaceAll("~1", "/").replaceAll("~0", "~");
      current = Object.hasOwn(defs, name) ? defs[name] : undefined;
    } else return new Set();
  }
  return new Set();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
