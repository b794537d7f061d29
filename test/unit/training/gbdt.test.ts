import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rocAuc } from '../../../domain/evaluation/metrics.ts';
import { CheckpointMismatchError } from '../../../domain/training/gbdt/checkpoint.ts';
import { gbdtTrainer } from '../../../domain/training/gbdt/gbdt-trainer.ts';
import type { GbdtModel } from '../../../domain/training/gbdt/gbdt-model.ts';
import { isCategoricalNode, serializeTree } from '../../../domain/training/gbdt/tree.ts';
import type { FeatureMatrix } from '../../../domain/training/feature-matrix.ts';
import { verifyOnnxParity } from '../../../domain/training/onnx-parity.ts';
import { TrainingDataError, type TrainingProgress } from '../../../domain/training/trainer.ts';
import { gbdtParamsSchema, type GbdtParams } from '../../../shared/trainers.ts';
import { syntheticMatrix } from './synthetic-data.ts';

const train = syntheticMatrix({ rows: 20_000, seed: 1, missingRate: 0.05 });
const validation = syntheticMatrix({ rows: 5_000, seed: 2, missingRate: 0.05, unseenCategories: true });
const params = (overrides: Partial<GbdtParams> = {}) =>
  gbdtParamsSchema.parse({ kind: 'gbdt', nTrees: 40, maxLeaves: 15, minSamplesLeaf: 20, ...overrides });

const treesOf = (model: GbdtModel) => JSON.stringify(model.trees.map(serializeTree));

describe('gbdtTrainer', () => {
  test('learns the synthetic signal, lowering validation loss as trees are added', async () => {
    const progress: TrainingProgress[] = [];
    const model = await gbdtTrainer.train({ train, validation }, params(), { seed: 1, onProgress: (p) => void progress.push(p) });
    const auc = rocAuc(validation.label, model.predict(validation));
    assert.ok(auc > 0.8, `validation AUC ${auc}`);
    assert.equal(progress.length, 40);
    assert.deepEqual(progress.map((p) => p.iteration), Array.from({ length: 40 }, (_, i) => i + 1));
    assert.ok((progress.at(-1)?.validationLoss ?? 1) < (progress[0]?.validationLoss ?? 0));
    assert.equal(model.summary.iterations, 40);
  });

  test('gives identical trees and predictions for the same seed', async () => {
    const a = await gbdtTrainer.train({ train, validation }, params({ subsample: 0.7, colsample: 0.6 }), { seed: 42 });
    const b = await gbdtTrainer.train({ train, validation }, params({ subsample: 0.7, colsample: 0.6 }), { seed: 42 });
    assert.equal(treesOf(a), treesOf(b));
    assert.deepEqual(a.predict(validation), b.predict(validation));
  });

  test('draws different rows and features for a different seed when subsampling', async () => {
    const a = await gbdtTrainer.train({ train, validation }, params({ subsample: 0.7, colsample: 0.6 }), { seed: 1 });
    const b = await gbdtTrainer.train({ train, validation }, params({ subsample: 0.7, colsample: 0.6 }), { seed: 2 });
    assert.notEqual(treesOf(a), treesOf(b));
    assert.notDeepEqual(a.predict(validation), b.predict(validation));
  });

  test('a run resumed from a checkpoint builds bit-identical trees to an uninterrupted run', async () => {
    const p = params({ nTrees: 30, subsample: 0.8, colsample: 0.8, earlyStoppingRounds: 0 });
    const uninterrupted = await gbdtTrainer.train({ train, validation }, p, { seed: 9 });

    // Crash after tree 17; the last checkpoint (tree 15) went through JSON, as it would in storage.
    const saved: string[] = [];
    const crash = new Error('worker lost');
    await assert.rejects(
      gbdtTrainer.train({ train, validation }, p, {
        seed: 9,
        checkpoint: { every: 5, save: async (state) => void saved.push(JSON.stringify(state)) },
        onProgress: ({ iteration }) => {
          if (iteration === 17) throw crash;
        },
      }),
      (error) => error === crash,
    );
    assert.equal(saved.length, 3);
    const resumeFrom: unknown = JSON.parse(saved.at(-1) as string);

    const resumed = await gbdtTrainer.train({ train, validation }, p, {
      seed: 9,
      checkpoint: { every: 5, save: async () => {}, resumeFrom },
    });
    assert.equal(resumed.summary.resumedFromIteration, 15);
    assert.equal(resumed.trees.length, 30);
    assert.equal(treesOf(resumed), treesOf(uninterrupted));
    assert.deepEqual(resumed.predict(validation), uninterrupted.predict(validation));
    const meta = { modelName: 'm', modelVersion: 1, lineage: {} };
    assert.deepEqual(resumed.toOnnx(meta), uninterrupted.toOnnx(meta));
  });

  test('refuses a checkpoint made with other parameters', async () => {
    let state: unknown;
    await gbdtTrainer.train({ train, validation }, params({ nTrees: 5 }), {
      seed: 3,
      checkpoint: { every: 5, save: async (s) => void (state = s) },
    });
    await assert.rejects(
      gbdtTrainer.train({ train, validation }, params({ nTrees: 10, learningRate: 0.2 }), {
        seed: 3,
        checkpoint: { every: 5, save: async () => {}, resumeFrom: state },
      }),
      CheckpointMismatchError,
    );
    await assert.rejects(
      gbdtTrainer.train({ train, validation }, params(), { seed: 3, checkpoint: { every: 5, save: async () => {}, resumeFrom: { trees: [] } } }),
      CheckpointMismatchError,
    );
  });

  test('stops early on a stalled validation loss and keeps the best iteration', async () => {
    // A large learning rate on a small noisy sample overfits within a few trees.
    const small = syntheticMatrix({ rows: 2_000, seed: 5 });
    const losses: number[] = [];
    const model = await gbdtTrainer.train(
      { train: small, validation },
      params({ nTrees: 300, learningRate: 0.8, maxLeaves: 31, minSamplesLeaf: 5, earlyStoppingRounds: 5 }),
      { seed: 1, onProgress: (p) => void losses.push(p.validationLoss) },
    );
    const best = losses.indexOf(Math.min(...losses)) + 1;
    assert.equal(model.summary.stoppedEarly, true);
    assert.equal(model.summary.bestIteration, best);
    assert.equal(model.trees.length, best);
    assert.equal(losses.length, best + 5);
  });

  test('yields to the event loop between trees so heartbeats can run', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      await gbdtTrainer.train({ train, validation }, params({ nTrees: 10 }), { seed: 1 });
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks >= 5, `only ${ticks} timer callbacks ran during training`);
  });

  test('refuses training data with one class', async () => {
    const oneClass = { ...train, label: new Uint8Array(train.rows) };
    await assert.rejects(gbdtTrainer.train({ train: oneClass, validation }, params(), { seed: 1 }), TrainingDataError);
  });
});

describe('categorical set splits', () => {
  // Category k of 12 is delayed with probability 0.8 when k is odd, 0.2 when even: no order by name
  // or code separates them, a set does. Rows are spread over the categories round robin.
  const matrix = (rows: number, seed: number): FeatureMatrix => {
    const dictionary = Array.from({ length: 12 }, (_, k) => `cat-${k}`);
    const codes = Int32Array.from({ length: rows }, (_, i) => (i * 7 + seed) % 12);
    let state = seed;
    const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const label = Uint8Array.from(codes, (code) => (random() < (code % 2 === 1 ? 0.8 : 0.2) ? 1 : 0));
    return { rows, numeric: { names: [], columns: [] }, categorical: { names: ['c'], columns: [{ dictionary, codes }] }, label };
  };

  test('the first split sends the odd categories one way in one node, and predict and ONNX agree', async () => {
    const model = await gbdtTrainer.train({ train: matrix(6_000, 1), validation: matrix(2_000, 2) }, params({ nTrees: 3, maxLeaves: 2 }), { seed: 1 });
    const [tree] = model.trees;
    assert.ok(tree !== undefined && isCategoricalNode(tree, 0));
    const left = Array.from(tree.categories.subarray(tree.categoryStart[0], tree.categoryStart[1]), (code) => model.codes[0]?.categories[code]);
    const odd = left.every((name) => Number(name?.slice(4)) % 2 === 1);
    const even = left.every((name) => Number(name?.slice(4)) % 2 === 0);
    assert.ok((odd || even) && left.length === 6, `left set ${left.join(', ')}`);
    const validation = matrix(2_000, 3);
    await verifyOnnxParity(model.toOnnx({ modelName: 'm', modelVersion: 1, lineage: {} }), validation, model.predict(validation));
  });
});
