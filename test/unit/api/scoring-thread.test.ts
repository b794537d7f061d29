import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ScoringThread } from '../../../api/scoring/scoring-thread-client.ts';
import { PROBABILITIES_OUTPUT, PROBABILITY_OUTPUT } from '../../../shared/model-graph.ts';
import { FLIGHTS_FEATURES, trainFlightsModel } from './support/flights-model.ts';

/** Model runs on the scoring thread give what the same session gives on the main thread, and survive the thread dying. */
describe('scoring thread', () => {
  test('scores as a local session does; a crashed thread is replaced with its sessions loaded again', async () => {
    const { model } = await trainFlightsModel();
    const onnx = model.toOnnx({ modelName: 'm', modelVersion: 1, lineage: {} });
    const kNum = FLIGHTS_FEATURES.numeric.length;
    const kCat = FLIGHTS_FEATURES.categorical.length;
    const rows = 50;
    const numeric = Float32Array.from({ length: rows * kNum }, (_, i) => (i * 37) % 101);
    const categorical = Array.from({ length: rows * kCat }, (_, i) => ['ORD', 'ATL', 'SEA', 'nowhere'][i % 4] as string);

    const local = await InferenceSession.create(onnx);
    const expected = (await local.run({ numeric: new Tensor('float32', numeric, [rows, kNum]), categorical: new Tensor('string', categorical, [rows, kCat]) })).probability?.data as Float32Array;
    await local.release();

    const thread = new ScoringThread(1);
    try {
      const created = await thread.load(onnx, ['cpu'], { kNum, kCat, output: PROBABILITY_OUTPUT });
      assert.ok(created.ok);
      assert.equal(created.provider, 'cpu');
      const features = { rows, numeric, categorical };
      assert.deepEqual(await created.session.run(features), expected);
      assert.equal(numeric.length, rows * kNum, 'features are cloned, not transferred: the caller keeps them');

      // A category containing the separator the thread's message format joins on still arrives intact.
      const odd = categorical.map((c, i) => (i % 7 === 0 ? `${c}\u0000x` : c));
      const localOdd = await InferenceSession.create(onnx);
      const expectedOdd = (await localOdd.run({ numeric: new Tensor('float32', numeric, [rows, kNum]), categorical: new Tensor('string', odd, [rows, kCat]) })).probability?.data as Float32Array;
      await localOdd.release();
      assert.deepEqual(await created.session.run({ rows, numeric, categorical: odd }), expectedOdd);

      await (thread as unknown as { thread: { worker: Worker } }).thread.worker.terminate();
      assert.deepEqual(await created.session.run(features), expected, 'after a crash the session is loaded into a new thread');

      await created.session.release();
      await assert.rejects(created.session.run(features), /not loaded on the scoring thread/);

      const broken = await thread.load(new Uint8Array([1, 2, 3]), ['cpu'], { kNum, kCat, output: PROBABILITY_OUTPUT });
      assert.equal(broken.ok, false);
      assert.equal(broken.failures[0]?.provider, 'cpu');
    } finally {
      await thread.close();
    }
  });

  test("a multiclass session answers with its classes' probabilities, row-major, and names its outputs", async () => {
    const { model, task } = await trainFlightsModel({ task: 'multiclass', rows: 1200, trainer: { kind: 'gbdt', nTrees: 5, maxLeaves: 7, minSamplesLeaf: 20 } });
    const onnx = model.toOnnx({ modelName: 'm', modelVersion: 1, lineage: {} });
    const kNum = FLIGHTS_FEATURES.numeric.length;
    const kCat = FLIGHTS_FEATURES.categorical.length;
    const rows = 3;
    const numeric = Float32Array.from({ length: rows * kNum }, (_, i) => (i * 13) % 23);
    const categorical = Array.from({ length: rows * kCat }, (_, i) => ['ORD', 'SEA'][i % 2] as string);
    const local = await InferenceSession.create(onnx);
    const expected = (await local.run({ numeric: new Tensor('float32', numeric, [rows, kNum]), categorical: new Tensor('string', categorical, [rows, kCat]) }))[PROBABILITIES_OUTPUT]?.data as Float32Array;
    await local.release();

    const thread = new ScoringThread(1);
    try {
      const created = await thread.load(onnx, ['cpu'], { kNum, kCat, output: PROBABILITIES_OUTPUT });
      assert.ok(created.ok);
      assert.ok(created.session.outputNames.includes(PROBABILITIES_OUTPUT));
      const outputs = await created.session.run({ rows, numeric, categorical });
      assert.equal(outputs.length, rows * (task.kind === 'multiclass' ? task.classes.length : 0));
      assert.deepEqual(outputs, expected);
      for (let r = 0; r < rows; r++) assert.ok(Math.abs(outputs.subarray(r * 3, r * 3 + 3).reduce((a, b) => a + b, 0) - 1) < 1e-5, `row ${r} sums to 1`);
    } finally {
      await thread.close();
    }
  });
});
