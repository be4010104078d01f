// Executor overhead: one task through the executor (admission, validation, events, output
// checks) against calling the same handler directly, p50 and p99 in microseconds.

import { Executor } from "../dist/runtime/executor.js";
import { runtimeSettingsFromEnv } from "../dist/settings/runtime.js";

const ITERATIONS = Number(process.env.BENCH_EXECUTOR_ITERATIONS ?? 20000);

const schema = (name, properties) => ({
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $ref: `#/$defs/${name}`,
  $defs: { [name]: { title: name, type: "object", properties, required: Object.keys(properties) } },
});

const manifest = {
  project_name: "bench",
  functions: [
    {
      name: "ping",
      endpoint_name: "ping",
      module: "src/main.ts",
      resources: {},
      input_schema: schema("PingInput", { n: { type: "number" } }),
      output_mode: "single",
      output_schema: schema("PingOutput", { pong: { type: "number" } }),
      injection_json: [],
      export: "ping",
    },
  ],
  runtime: { language: "typescript", node: ">=20.19.0", gen_worker: "0.1.0", main: "src/main.ts" },
};

async function ping(_ctx, input) {
  return { pong: input.n };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function measure(fn) {
  const samples = new Float64Array(ITERATIONS);
  for (let i = 0; i < 2000; i++) await fn(i);
  for (let i = 0; i < ITERATIONS; i++) {
    const start = process.hrtime.bigint();
    await fn(i);
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  samples.sort();
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

/** An executor with one trivial `ping` function, as the benchmarks use it. */
export function createBenchExecutor() {
  return new Executor({ manifest, handlers: { ping }, settings: runtimeSettingsFromEnv({}) });
}

export async function benchExecutor() {
  const executor = createBenchExecutor();
  const direct = await measure((i) => ping({}, { n: i }));
  const viaExecutor = await measure((i) =>
    executor.run({ runId: `r${i}`, functionName: "ping", payload: { n: i }, payloadBytes: 8 }),
  );
  return { direct, viaExecutor };
}
