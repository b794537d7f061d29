import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type FeatureRows, MicroBatcher } from '../../../api/scoring/micro-batcher.ts';

/** A model run that records the rows of each run and scores row i of a run as the first numeric value. */
function recordingRun(runs: number[]) {
  return async (features: FeatureRows) => {
    runs.push(features.rows);
    const scores = new Float32Array(features.rows);
    for (let i = 0; i < features.rows; i++) scores[i] = features.numeric?.[i * 2] ?? NaN;
    return scores;
  };
}

const rows = (...values: number[]): FeatureRows => ({ rows: values.length, numeric: Float32Array.from(values.flatMap((v) => [v, 0])), categorical: values.map((v) => `c${v}`) });

describe('MicroBatcher', () => {
  test('a lone request is scored on the next turn of the event loop, without waiting for maxWait', async () => {
    const runs: number[] = [];
    const batcher = new MicroBatcher({ kNum: 2, kCat: 1, width: 1 }, recordingRun(runs), { maxBatchRows: 64, maxWaitMs: 1000, othersArriving: () => false });
    const started = performance.now();
    const scores = await batcher.score(rows(7));
    assert.ok(performance.now() - started < 100, 'no timer at low concurrency');
    assert.deepEqual(runs, [1]);
    assert.deepEqual([...scores], [7]);
  });

  test('requests that arrive together share one run and each gets its own rows back', async () => {
    const runs: number[] = [];
    const batcher = new MicroBatcher({ kNum: 2, kCat: 1, width: 1 }, recordingRun(runs), { maxBatchRows: 64, maxWaitMs: 0, othersArriving: () => false });
    const answers = await Promise.all([batcher.score(rows(1)), batcher.score(rows(2, 3)), batcher.score(rows(4))]);
    assert.deepEqual(runs, [4]);
    assert.deepEqual(answers.map((a) => [...a]), [[1], [2, 3], [4]]);
  });

  test('with several outputs per row (a multiclass model), each request gets its rows × width values', async () => {
    const runs: number[] = [];
    // Row i's outputs: its first numeric value, then +0.1, +0.2.
    const run = async (features: FeatureRows) => {
      runs.push(features.rows);
      return Float32Array.from({ length: features.rows * 3 }, (_, j) => (features.numeric?.[Math.floor(j / 3) * 2] ?? NaN) + (j % 3) / 10);
    };
    const batcher = new MicroBatcher({ kNum: 2, kCat: 1, width: 3 }, run, { maxBatchRows: 64, maxWaitMs: 0, othersArriving: () => false });
    const answers = await Promise.all([batcher.score(rows(1)), batcher.score(rows(2, 3))]);
    assert.deepEqual(runs, [3]);
    assert.deepEqual(answers.map((a) => [...a].map((v) => Math.round(v * 10) / 10)), [[1, 1.1, 1.2], [2, 2.1, 2.2, 3, 3.1, 3.2]]);
  });

  test('categorical features are concatenated in row order', async () => {
    let seen: string[] | undefined;
    const batcher = new MicroBatcher({ kNum: 2, kCat: 1, width: 1 }, async (f) => ((seen = f.categorical), new Float32Array(f.rows)), { maxBatchRows: 64, maxWaitMs: 0, othersArriving: () => false });
    await Promise.all([batcher.score(rows(1, 2)), batcher.score(rows(3))]);
    assert.deepEqual(seen, ['c1', 'c2', 'c3']);
  });

  test('one run at a time: what arrives during a run is the next run, started as soon as it ends', async () => {
    const runs: number[] = [];
    let inFlight = 0;
    let most = 0;
    let finish: (() => void) | undefined;
    const slowRun = async (features: FeatureRows) => {
      runs.push(features.rows);
      most = Math.max(most, ++inFlight);
      await new Promise<void>((resolve) => (finish = resolve));
      inFlight--;
      return new Float32Array(features.rows).fill(0.5);
    };
    const batcher = new MicroBatcher({ kNum: 2, kCat: 1, width: 1 }, slowRun, { maxBatchRows: 64, maxWaitMs: 0, othersArriving: () => false });
    const first = batcher.score(rows(1));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(runs, [1], 'the first request runs at once');
    const during = [batcher.score(rows(2)), batcher.score(rows(3, 4)), batcher.score(rows(5))];
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(runs, [1], 'nothing else starts while a run is on the thread');
    finish?.();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(runs, [1, 4], 'the three that waited share the next run');
    finish?.();
    assert.equal((await Promise.all(during)).flatMap((a) => [...a]).length, 4);
    assert.equal(most, 1);
  });

  test('a run never exceeds maxBatchRows; a request larger than that runs alone', async () => {
    const runs: number[] = [];
    const batcher = new MicroBatcher({ kNum: 2, kCat: 1, width: 1 }, recordingRun(runs), { maxBatchRows: 4, maxWaitMs: 0, othersArriving: () => false });
    await Promise.all([...Array.from({ length: 10 }, (_, i) => batcher.score(rows(i))), batcher.score(rows(1, 2, 3, 4, 5, 6))]);
    assert.ok(runs.every((n) => n <= 4 || n === 6), `runs ${runs.join(",")}`);
    assert.equal(runs.reduce((a, b) => a + b, 0), 16);
    assert.ok(runs.includes(6));
  });

  test('while others are still arriving a batch waits for them, but no longer than maxWait', async () => {
    const runs: number[] = [];
    let arriving = true;
    const batcher = new MicroBatcher({ kNum: 2, kCat: 1, width: 1 }, recordingRun(runs), { maxBatchRows: 64, maxWaitMs: 30, othersArriving: () => arriving });
    const first = batcher.score(rows(1));
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(runs, [], 'held while another request is being received');
    arriving = false;
    const second = batcher.score(rows(2));
    await Promise.all([first, second]);
    assert.deepEqual(runs, [2], 'the late arrival joined the held batch');

    arriving = true;
    const started = performance.now();
    await batcher.score(rows(3));
    const waited = performance.now() - started;
    assert.ok(waited >= 25 && waited < 500, `flushed by the maxWait timer after ${waited} ms`);
  });

  test('a failed run rejects every request in it, and the next run is unaffected', async () => {
    let fail = true;
    const batcher = new MicroBatcher(
      { kNum: 2, kCat: 1, width: 1 },
      async (f) => {
        if (fail) throw new Error('run failed');
        return new Float32Array(f.rows);
      },
      { maxBatchRows: 64, maxWaitMs: 0, othersArriving: () => false },
    );
    const results = await Promise.allSettled([batcher.score(rows(1)), batcher.score(rows(2))]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    fail = false;
    assert.equal((await batcher.score(rows(3))).length, 1);
  });
});
