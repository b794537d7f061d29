import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gbdtTrainer } from '../../../domain/training/gbdt/gbdt-trainer.ts';
import type { FeatureMatrix } from '../../../domain/training/feature-matrix.ts';
import { permutationImportance } from '../../../domain/training/permutation-importance.ts';
import { featureImportanceSchema } from '../../../shared/model-diagnostics.ts';
import { gbdtParamsSchema } from '../../../shared/trainers.ts';
import { syntheticMatrix } from './synthetic-data.ts';

const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);

describe('permutation importance on a validation split', () => {
  test('a model that reads only x and bump gives every other feature exactly 0; the weights sum to 1', async () => {
    const split = syntheticMatrix({ rows: 8_000, seed: 3 });
    // Scores by row identity: a shuffled x or bump changes them, a shuffled other column cannot.
    const predict = (m: FeatureMatrix) => {
      const [mx, mb] = m.numeric.columns as [Float64Array, Float64Array];
      return Float64Array.from({ length: m.rows }, (_, i) => 1 / (1 + Math.exp(-(1.2 * (mx[i] as number) - 0.8 * (mb[i] as number) ** 2 - 0.5))));
    };
    const importance = featureImportanceSchema.parse(await permutationImportance(predict, split, 'validation', { seed: 1, maxRows: 5_000 }));
    assert.equal(importance.rows, 5_000);
    assert.deepEqual(Object.keys(importance.weights).sort(), ['bump', 'carrier', 'city', 'noise', 'step', 'x']);
    for (const name of ['step', 'noise', 'city', 'carrier']) assert.equal(importance.weights[name], 0, name);
    assert.ok((importance.weights.x ?? 0) > 0.5 && (importance.weights.bump ?? 0) > 0.2, JSON.stringify(importance.weights));
    assert.ok(Math.abs(sum(importance.weights) - 1) < 1e-12);
  });

  test('a model that ignores every feature weighs them equally', async () => {
    const split = syntheticMatrix({ rows: 1_000, seed: 4 });
    const importance = await permutationImportance((m) => new Float64Array(m.rows).fill(0.3), split, 'validation', { seed: 1 });
    for (const w of Object.values(importance.weights)) assert.ok(Math.abs(w - 1 / 6) < 1e-12);
  });

  test('a trained GBDT relies on the signal features and hardly on pure noise; the same seed gives the same weights', async () => {
    const train = syntheticMatrix({ rows: 20_000, seed: 5 });
    const validation = syntheticMatrix({ rows: 6_000, seed: 6 });
    const model = await gbdtTrainer.train({ train, validation }, gbdtParamsSchema.parse({ kind: 'gbdt', nTrees: 40, maxLeaves: 15, minSamplesLeaf: 20 }), { seed: 1 });
    const importance = await permutationImportance((m) => model.predict(m), validation, 'validation', { seed: 9 });
    const w = importance.weights;
    // Log-odds: 1.2·x over [-2, 2] is the largest term; noise carries none.
    assert.ok(Object.entries(w).every(([name, weight]) => name === 'x' || weight < (w.x ?? 0)), JSON.stringify(w));
    assert.ok((w.bump ?? 0) > 0.1 && (w.step ?? 0) > 0.05, JSON.stringify(w));
    assert.ok((w.noise ?? 1) < 0.02, JSON.stringify(w));
    assert.deepEqual((await permutationImportance((m) => model.predict(m), validation, 'validation', { seed: 9 })).weights, w);
  });
});
