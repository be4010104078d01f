import { rm } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REPO_ROOT,
  type RunnerProcess,
  removeTenantBundles,
  startRunner,
} from "../../support/runner-process.js";

const PROJECT = join(REPO_ROOT, "test/projects/property");
const RUNS_PER_ENDPOINT = 500;

let runner: RunnerProcess;

beforeAll(async () => {
  runner = await startRunner(PROJECT);
});

afterAll(async () => {
  await runner?.stop();
  await removeTenantBundles(PROJECT, runner?.child.pid);
  if (runner) await rm(runner.outputsDir, { recursive: true, force: true });
});

/** Valid payloads of each endpoint, to mutate: random JSON alone would almost never succeed. */
const validPayloads: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  detect: fc.record(
    {
      image_ref: fc.string({ minLength: 1, maxLength: 64 }),
      threshold: fc.double({ min: 0, max: 1, noNaN: true }),
      regions: fc.array(
        fc.record({
          x: fc.double({ noNaN: true, noDefaultInfinity: true }),
          y: fc.double({ noNaN: true, noDefaultInfinity: true }),
          w: fc.double({ min: 0.5, max: 1e6, noNaN: true }),
          h: fc.double({ min: 0.5, max: 1e6, noNaN: true }),
        }),
        { maxLength: 3 },
      ),
      mode: fc.constantFrom("fast", "accurate"),
      labels: fc.dictionary(fc.string(), fc.integer()),
    },
    { requiredKeys: ["image_ref", "mode"] },
  ),
  generate: fc.record(
    {
      prompt: fc.string(),
      steps: fc.integer({ min: 1, max: 50 }),
      seed: fc.option(fc.integer()),
      size: fc.tuple(fc.integer(), fc.integer()),
      flags: fc.record({ upscale: fc.boolean(), tile: fc.boolean() }, { requiredKeys: ["upscale"] }),
    },
    { requiredKeys: ["prompt", "steps"] },
  ),
  tag: fc.record(
    { tags: fc.array(fc.string()), weight: fc.double({ noNaN: true, noDefaultInfinity: true }) },
    { requiredKeys: ["tags"] },
  ),
};

/** A valid payload with one property replaced or removed, or random JSON, or a random envelope. */
function bodies(endpoint: string): fc.Arbitrary<unknown> {
  const valid = validPayloads[endpoint] ?? fc.constant({});
  const mutated = fc
    .tuple(valid, fc.nat(), fc.jsonValue(), fc.boolean())
    .map(([payload, index, replacement, remove]) => {
      const keys = Object.keys(payload);
      const key = keys[index % Math.max(1, keys.length)];
      if (key === undefined) return payload;
      const copy: Record<string, unknown> = { ...payload };
      if (remove) delete copy[key];
      else copy[key] = replacement;
      return copy;
    });
  return fc.oneof(
    valid,
    mutated,
    fc.jsonValue(),
    valid.map((payload) => ({ payload, timeout_ms: 5000 })),
  );
}

describe("dev runner under random input", () => {
  for (const endpoint of Object.keys(validPayloads)) {
    it(`${endpoint}: every answer is a success or a 4xx naming the offending path`, async () => {
      let successes = 0;
      await fc.assert(
        fc.asyncProperty(bodies(endpoint), async (body) => {
          const response = await fetch(`${runner.url}/v1/run/${endpoint}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          const json = (await response.json()) as Record<string, unknown>;
          if (response.status === 200) {
            expect(json.success).toBe(true);
            successes++;
            return;
          }
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
          const message = String(json.safe_message ?? json.message ?? "");
          // A JSON path (`$`, `$.field`, `$.list[2]`, `$.map["any key"]`) as a word of its own,
          // followed by what is wrong.
          expect(message).toMatch(/(^|\s)\$(\.[A-Za-z_$][\w$]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])* \S/);
        }),
        { numRuns: RUNS_PER_ENDPOINT },
      );
      expect(successes).toBeGreaterThan(RUNS_PER_ENDPOINT / 10);
      const health = await fetch(`${runner.url}/health`);
      expect(health.status).toBe(200);
    });
  }
});
