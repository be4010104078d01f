import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type InferenceSession, Tensor } from "onnxruntime-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CanceledError } from "../../../src/contract/errors.js";
import type { BatchSpec } from "../../../src/contract/model-spec.js";
import { batchability, callShape } from "../../../src/models/serving/batch-shape.js";
import { innerSession, SessionServing, servedSession } from "../../../src/models/serving/served-session.js";
import { createBareSession } from "../../support/bare-session.js";
import { PPOCR_CLS, PPOCR_DET, SILERO_VAD, wave } from "../../support/model-repos.js";
import { writeTinyModel } from "../../support/onnx/tiny-model.js";

const quiet = pino({ level: "silent" });
const TOLERANCE = 1e-5;

type Feeds = Record<string, Tensor>;

let dir: string;
const sessions: Record<"cls" | "det" | "tiny" | "vad", InferenceSession> = {} as never;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "batching-"));
  const tiny = join(dir, "tiny.onnx");
  await writeTinyModel(tiny);
  const create = createBareSession;
  sessions.cls = await create(PPOCR_CLS);
  sessions.det = await create(PPOCR_DET);
  sessions.tiny = await create(tiny);
  sessions.vad = await create(SILERO_VAD);
});

afterAll(async () => {
  for (const session of Object.values(sessions)) await session.release();
  await rm(dir, { recursive: true, force: true });
});

/** A serving whose runs go straight to the session, counting the ONNX Runtime calls. */
function serving(session: InferenceSession) {
  const calls: number[] = [];
  const served = new SessionServing(
    session,
    "test",
    (run) => {
      calls.push(1);
      return run();
    },
    quiet,
  );
  return { served, calls };
}

function image(seed: number, height: number, width: number, rows = 1): Feeds {
  const values = wave(rows * 3 * height * width, seed);
  return { x: new Tensor("float32", Float32Array.from(values), [rows, 3, height, width]) };
}

function mlp(seed: number, rows: number): Feeds {
  return { X: new Tensor("float32", Float32Array.from(wave(rows * 4, seed)), [rows, 4]) };
}

/** Each output of `got` equals the session's own unbatched run of `feeds`, to 1e-5. */
async function expectSameAsAlone(session: InferenceSession, feeds: Feeds, got: InferenceSession.ReturnType) {
  const alone = await session.run(feeds);
  expect(Object.keys(got).sort()).toEqual(Object.keys(alone).sort());
  for (const [name, tensor] of Object.entries(alone)) {
    const mine = got[name] as Tensor;
    expect(mine.dims).toEqual(tensor.dims);
    const a = tensor.data as Float32Array;
    const b = mine.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  }
}

/** Runs every feed through its own view of the session (as concurrent runs would), at once. */
async function concurrently(
  served: SessionServing,
  feeds: readonly Feeds[],
  spec: BatchSpec,
  signals: (AbortSignal | undefined)[] = [],
) {
  const sizes: number[][] = feeds.map(() => []);
  const results = await Promise.allSettled(
    feeds.map((f, i) => {
      const signal = signals[i];
      const view = servedSession(served, {
        batch: spec,
        onRun: (rows) => sizes[i]?.push(rows),
        ...(signal ? { signal } : {}),
      });
      return view.run(f);
    }),
  );
  return { results, sizes };
}

function fulfilled(result: PromiseSettledResult<InferenceSession.ReturnType>): InferenceSession.ReturnType {
  if (result.status !== "fulfilled") throw new Error(`call failed: ${String(result.reason)}`);
  return result.value;
}

describe("which graphs can batch (their input and output metadata)", () => {
  it("batches PP-OCR and the tiny MLP, whose first dimensions are symbolic; not Silero VAD", () => {
    expect(batchability(sessions.cls)).toEqual({ batchable: true });
    expect(batchability(sessions.det)).toEqual({ batchable: true });
    expect(batchability(sessions.tiny)).toEqual({ batchable: true });
    expect(batchability(sessions.vad)).toEqual({
      batchable: false,
      reason: "its input 'sr' is a scalar or has no shape in the graph",
    });
  });

  it("keys a call by everything but its first dimension, and sends odd calls alone", () => {
    expect(callShape(image(1, 48, 192, 2), sessions.cls)).toEqual({ key: "x:float32:3x48x192", rows: 2 });
    expect(callShape(image(1, 48, 96), sessions.cls)).toEqual({ key: "x:float32:3x48x96", rows: 1 });
    expect(callShape({ x: new Tensor("float32", new Float32Array(6), [2, 3]) }, sessions.cls)).toEqual({
      alone: "input 'x' does not have the graph's rank",
    });
    expect(callShape({ X: new Tensor("int32", new Int32Array(4), [1, 4]) }, sessions.tiny)).toEqual({
      alone: "input 'X' is not of the graph's type",
    });
    expect(callShape({ X: new Tensor("float32", new Float32Array(5), [1, 5]) }, sessions.tiny)).toEqual({
      alone: "input 'X' does not match the graph's fixed dimensions",
    });
    expect(callShape({ ...mlp(1, 1), extra: mlp(2, 1).X as Tensor }, sessions.tiny)).toEqual({
      alone: "the feeds do not name exactly the graph's inputs",
    });
  });
});

describe("dynamic batching is exact: each caller gets what an unbatched run of its input gives", () => {
  it("the PP-OCR classifier: 8 concurrent calls run as one ONNX Runtime call of 8 rows", async () => {
    const { served, calls } = serving(sessions.cls);
    const feeds = Array.from({ length: 8 }, (_, i) => image(100 + i, 48, 192));
    const { results, sizes } = await concurrently(served, feeds, { max_size: 8, max_wait_ms: 50 });
    expect(calls).toHaveLength(1);
    expect(sizes).toEqual(feeds.map(() => [8]));
    for (const [i, result] of results.entries()) {
      await expectSameAsAlone(sessions.cls, feeds[i] as Feeds, fulfilled(result));
    }
  });

  it("the PP-OCR detector: 4 calls, max_size 2, run as two batches of 2", async () => {
    const { served, calls } = serving(sessions.det);
    const feeds = Array.from({ length: 4 }, (_, i) => image(200 + i, 32, 32));
    const { results, sizes } = await concurrently(served, feeds, { max_size: 2, max_wait_ms: 50 });
    expect(calls).toHaveLength(2);
    expect(sizes).toEqual([[2], [2], [2], [2]]);
    for (const [i, result] of results.entries()) {
      await expectSameAsAlone(sessions.det, feeds[i] as Feeds, fulfilled(result));
    }
  });

  it("the tiny MLP: calls of 1, 3 and 2 rows share one call of 6 rows, each gets its own rows back", async () => {
    const { served, calls } = serving(sessions.tiny);
    const feeds = [mlp(1, 1), mlp(2, 3), mlp(3, 2)];
    const { results, sizes } = await concurrently(served, feeds, { max_size: 16, max_wait_ms: 20 });
    expect(calls).toHaveLength(1);
    expect(sizes).toEqual([[6], [6], [6]]);
    for (const [i, result] of results.entries()) {
      const got = fulfilled(result);
      expect((got.Y as Tensor).dims).toEqual([feeds[i]?.X?.dims[0], 3]);
      await expectSameAsAlone(sessions.tiny, feeds[i] as Feeds, got);
    }
  });

  it("max_wait_ms = 0 batches the calls made in the same turn of the event loop", async () => {
    const { served, calls } = serving(sessions.tiny);
    const feeds = [mlp(11, 1), mlp(12, 1), mlp(13, 1)];
    const { results, sizes } = await concurrently(served, feeds, { max_size: 8, max_wait_ms: 0 });
    expect(calls).toHaveLength(1);
    expect(sizes).toEqual([[3], [3], [3]]);
    for (const [i, result] of results.entries()) {
      await expectSameAsAlone(sessions.tiny, feeds[i] as Feeds, fulfilled(result));
    }
  });

  it("mixed shapes: calls batch only with their own shape; calls that cannot batch run alone and are right", async () => {
    const { served, calls } = serving(sessions.det);
    const small = [image(300, 32, 32), image(301, 32, 32)];
    const large = [image(302, 64, 32), image(303, 64, 32)];
    const twoRows = image(304, 32, 32, 2);
    const feeds = [small[0], large[0], small[1], large[1], twoRows] as Feeds[];
    const { results, sizes } = await concurrently(served, feeds, { max_size: 8, max_wait_ms: 20 });
    // One call for the 32×32 images (1 + 1 + 2 rows), one for the 64×32 ones.
    expect(calls).toHaveLength(2);
    expect(sizes).toEqual([[4], [2], [4], [2], [4]]);
    for (const [i, result] of results.entries()) {
      await expectSameAsAlone(sessions.det, feeds[i] as Feeds, fulfilled(result));
    }
  });

  it("a malformed call among batchable ones fails alone with ONNX Runtime's error; the others succeed", async () => {
    const { served, calls } = serving(sessions.tiny);
    const bad = { X: new Tensor("float32", new Float32Array(5), [1, 5]) };
    const feeds = [mlp(7, 1), bad, mlp(8, 1)];
    const { results, sizes } = await concurrently(served, feeds, { max_size: 8, max_wait_ms: 20 });
    expect(results[1]?.status).toBe("rejected");
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/dimension|shape|Got invalid/i);
    expect(calls).toHaveLength(2);
    expect(sizes).toEqual([[2], [1], [2]]);
    await expectSameAsAlone(sessions.tiny, feeds[0] as Feeds, fulfilled(results[0] as never));
    await expectSameAsAlone(sessions.tiny, feeds[2] as Feeds, fulfilled(results[2] as never));
  });

  it("a graph that cannot batch (Silero VAD) runs each call alone, with the right outputs", async () => {
    const { served, calls } = serving(sessions.vad);
    const vadFeeds = (seed: number): Feeds => ({
      input: new Tensor("float32", Float32Array.from(wave(512, seed)), [1, 512]),
      sr: new Tensor("int64", BigInt64Array.from([16000n]), []),
      h: new Tensor("float32", new Float32Array(128), [2, 1, 64]),
      c: new Tensor("float32", new Float32Array(128), [2, 1, 64]),
    });
    const feeds = [vadFeeds(1), vadFeeds(2)];
    const { results, sizes } = await concurrently(served, feeds, { max_size: 8, max_wait_ms: 20 });
    expect(calls).toHaveLength(2);
    expect(sizes).toEqual([[1], [1]]);
    for (const [i, result] of results.entries()) {
      await expectSameAsAlone(sessions.vad, feeds[i] as Feeds, fulfilled(result));
    }
  });
});

describe("cancellation and the wrapper", () => {
  it("a canceled caller leaves the pending batch at once; the others run without its rows", async () => {
    const { served, calls } = serving(sessions.cls);
    const feeds = [image(400, 48, 192), image(401, 48, 192), image(402, 48, 192)];
    const controller = new AbortController();
    const started = performance.now();
    const pending = concurrently(served, feeds, { max_size: 8, max_wait_ms: 300 }, [
      undefined,
      controller.signal,
    ]);
    await new Promise((done) => setTimeout(done, 20));
    expect(served.waiting).toBe(3);
    controller.abort(new CanceledError("canceled by request"));
    expect(served.waiting).toBe(2);
    const { results, sizes } = await pending;
    expect(results[1]).toMatchObject({ status: "rejected", reason: expect.any(CanceledError) });
    expect(calls).toHaveLength(1);
    expect(sizes).toEqual([[2], [], [2]]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    await expectSameAsAlone(sessions.cls, feeds[0] as Feeds, fulfilled(results[0] as never));
    await expectSameAsAlone(sessions.cls, feeds[2] as Feeds, fulfilled(results[2] as never));
  });

  it("a call whose run was already canceled is refused before it queues", async () => {
    const { served, calls } = serving(sessions.cls);
    const controller = new AbortController();
    controller.abort(new CanceledError("too late"));
    const { results } = await concurrently(served, [image(500, 48, 192)], { max_size: 4, max_wait_ms: 5 }, [
      controller.signal,
    ]);
    expect(results[0]).toMatchObject({ status: "rejected", reason: expect.any(CanceledError) });
    expect(calls).toHaveLength(0);
  });

  it("without batch settings, or with fetches or run options, a call is a plain run", async () => {
    const { served, calls } = serving(sessions.tiny);
    const plain = servedSession(served, {});
    const batched = servedSession(served, { batch: { max_size: 8, max_wait_ms: 1000 } });
    const started = performance.now();
    await expectSameAsAlone(sessions.tiny, mlp(9, 2), await plain.run(mlp(9, 2)));
    await expectSameAsAlone(sessions.tiny, mlp(9, 2), await batched.run(mlp(9, 2), {}));
    await expectSameAsAlone(sessions.tiny, mlp(9, 2), await batched.run(mlp(9, 2), ["Y"]));
    expect(performance.now() - started).toBeLessThan(900);
    expect(calls).toHaveLength(3);
    expect(plain.inputNames).toEqual(["X"]);
    expect(plain.outputMetadata).toEqual(sessions.tiny.outputMetadata);
    expect(innerSession(plain)).toBe(sessions.tiny);
    // The worker owns the session: a handler's release() leaves it usable.
    await plain.release();
    expect((await sessions.tiny.run(mlp(1, 1))).Y).toBeDefined();
  });
});
