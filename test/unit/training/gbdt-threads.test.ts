import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gbdtTrainer } from '../../../domain/training/gbdt/gbdt-trainer.ts';
import type { GbdtModel } from '../../../domain/training/gbdt/gbdt-model.ts';
import { serializeTree } from '../../../domain/training/gbdt/tree.ts';
import { gbdtObjective, objectiveInputs } from '../../../domain/training/gbdt/objectives.ts';
import { sharedScores, TreeBuilder } from '../../../domain/training/gbdt/tree-builder.ts';
import { Prng } from '../../../domain/training/prng.ts';
import type { FeatureMatrix } from '../../../domain/training/feature-matrix.ts';
import { gbdtParamsSchema, type GbdtParams } from '../../../shared/trainers.ts';
import { syntheticMatrix } from './synthetic-data.ts';

/**
 * Trees must not depend on the thread count: the histogram blocks a leaf is summed in depend on its
 * size only, and partitions do not depend on who computes them. Enough rows that leaves are cut into
 * several blocks and the sampled rows' partitions are shared (histograms.ts, tree-builder.ts).
 */
const train = syntheticMatrix({ rows: 80_000, seed: 21, missingRate: 0.05 });
const validation = syntheticMatrix({ rows: 20_000, seed: 22, missingRate: 0.05, unseenCategories: true });
const params = (overrides: Partial<GbdtParams>) =>
  gbdtParamsSchema.parse({ kind: 'gbdt', nTrees: 12, maxLeaves: 31, minSamplesLeaf: 50, subsample: 0.8, earlyStoppingRounds: 0, ...overrides });
const treesOf = (model: GbdtModel) => JSON.stringify(model.trees.map(serializeTree));

/**
 * A tree grown straight from gradients whose sums depend on the order they are added in: rows in
 * fours with the same bins, gradients +1e15, a small value, -1e15, a small value. While a bin's running
 * sum holds 1e15 it keeps the small part only to 1/8, and how much is lost depends on the sum so far,
 * so each order of adding ends on other values. The leaf values, from those sums, then differ in
 * float32 unless every thread count adds in the same order.
 */
async function treeOnOrderSensitiveGradients(threads: number) {
  const rows = 60_000;
  const prng = new Prng(17);
  const groupBins = Uint8Array.from({ length: rows / 2 }, () => 1 + prng.nextInt(10));
  // Row r, feature f: the bins of r's group of four.
  const bins = Uint8Array.from({ length: 2 * rows }, (_, i) => groupBins[2 * (i >> 3) + (i % 2)] as number);
  const edges = [Float32Array.from({ length: 9 }, (_, i) => i + 0.5), Float32Array.from({ length: 9 }, (_, i) => i + 0.5)];
  const labels: FeatureMatrix = { rows, label: Uint8Array.from({ length: rows }, (_, r) => r % 2), numeric: { names: [], columns: [] }, categorical: { names: [], columns: [] } };
  const growth = { ...params({}), maxLeaves: 4 };
  const objective = gbdtObjective(labels, labels, growth, { kind: 'binary' });
  const builder = new TreeBuilder({ bins, rows, featureCount: 2, edges, categorical: [false, false] }, { bins: bins.subarray(0, 2000), rows: 1000 }, growth, {
    outputs: 1,
    threads,
    scores: { train: sharedScores(rows, [0], true), validation: sharedScores(1000, [0], true) },
    objective: { instance: objective, inputs: objectiveInputs(labels, labels, growth, { kind: 'binary' }) },
  });
  try {
    const gradHess = builder.gradients(0);
    for (let r = 0; r < rows; r++) {
      gradHess[2 * r] = r % 4 === 0 ? 1e15 : r % 4 === 2 ? -1e15 : prng.next();
      gradHess[2 * r + 1] = 1;
    }
    const sampleSize = builder.drawSample(prng, 1);
    return builder.grow(sampleSize, 0, Int32Array.from([0, 1]));
  } finally {
    await builder.close();
  }
}

/** Four classes cut from the binary problem's own features, so softmax grows one tree per class per round. */
function fourClasses(matrix: FeatureMatrix): FeatureMatrix {
  const [x, bump] = matrix.numeric.columns as [Float64Array, Float64Array];
  const label = Uint8Array.from(x, (xi, r) => (Number.isNaN(xi) ? 0 : (xi > 0 ? 2 : 0) + ((bump[r] as number) > 0 ? 1 : 0)));
  return { ...matrix, label, task: { kind: 'multiclass', classes: ['a', 'b', 'c', 'd'] } };
}

describe('GBDT helper threads', () => {
  test('one, two and three threads grow the same trees, bit for bit, and the summary records the count', async () => {
    const models = [];
    for (const threads of [1, 2, 3]) models.push(await gbdtTrainer.train({ train, validation }, params({ threads }), { seed: 5 }));
    const [one, two, three] = models as [GbdtModel, GbdtModel, GbdtModel];
    assert.deepEqual(
      models.map((model) => model.summary.threads),
      [1, 2, 3],
    );
    assert.ok(one.trees.every((tree) => tree.feature.length > 40), 'trees grew past a few splits');
    assert.equal(treesOf(two), treesOf(one));
    assert.equal(treesOf(three), treesOf(one));
    assert.deepEqual(two.predict(validation), one.predict(validation));
  });

  test('sums whose value depends on the order they are added in: the same leaf values on one, two and three threads', async () => {
    const [one, two, three] = [await treeOnOrderSensitiveGradients(1), await treeOnOrderSensitiveGradients(2), await treeOnOrderSensitiveGradients(3)];
    assert.ok(one.value.some((v) => v !== 0));
    assert.deepEqual(two.value, one.value);
    assert.deepEqual(three.value, one.value);
    assert.deepEqual(serializeTree(two), serializeTree(one));
  });

  test('softmax with a feature sample per tree: the same trees on one and two threads', async () => {
    const p = params({ colsample: 0.6 });
    const [one, two] = [
      await gbdtTrainer.train({ train: fourClasses(train), validation: fourClasses(validation) }, { ...p, threads: 1 }, { seed: 8 }),
      await gbdtTrainer.train({ train: fourClasses(train), validation: fourClasses(validation) }, { ...p, threads: 2 }, { seed: 8 }),
    ];
    assert.equal(one.trees.length, 4 * 12);
    assert.equal(treesOf(two), treesOf(one));
  });

  test('a checkpoint taken on one thread resumes on two, to the same trees', async () => {
    const p = params({ nTrees: 10 });
    const uninterrupted = await gbdtTrainer.train({ train, validation }, { ...p, threads: 1 }, { seed: 3 });
    let saved: unknown;
    const stop = new Error('stopped');
    await assert.rejects(
      gbdtTrainer.train({ train, validation }, { ...p, threads: 1 }, {
        seed: 3,
        checkpoint: { every: 4, save: async (state) => void (saved = JSON.parse(JSON.stringify(state))) },
        onProgress: ({ iteration }) => {
          if (iteration === 6) throw stop;
        },
      }),
      (error) => error === stop,
    );
    const resumed = await gbdtTrainer.train({ train, validation }, { ...p, threads: 2 }, { seed: 3, checkpoint: { every: 4, save: async () => {}, resumeFrom: saved } });
    assert.equal(resumed.summary.resumedFromIteration, 4);
    assert.equal(treesOf(resumed), treesOf(uninterrupted));
  });

  test('small data trains on one thread by default; `threads` outside 1..64 is refused', async () => {
    const small = await gbdtTrainer.train({ train: syntheticMatrix({ rows: 5_000, seed: 1 }), validation }, params({ nTrees: 2 }), { seed: 1 });
    assert.equal(small.summary.threads, 1);
    assert.throws(() => gbdtParamsSchema.parse({ kind: 'gbdt', threads: 0 }), /threads/);
    assert.throws(() => gbdtParamsSchema.parse({ kind: 'gbdt', threads: 65 }), /threads/);
  });
});
