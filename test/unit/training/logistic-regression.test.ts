import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rocAuc } from '../../../domain/evaluation/metrics.ts';
import { FeatureMatrixError } from '../../../domain/training/feature-matrix.ts';
import { logisticRegressionTrainer } from '../../../domain/training/logistic-regression/lr-trainer.ts';
import { LogisticRegressionModel } from '../../../domain/training/logistic-regression/lr-model.ts';
import type { TrainingProgress } from '../../../domain/training/trainer.ts';
import { logisticRegressionParamsSchema } from '../../../shared/trainers.ts';
import { syntheticMatrix } from './synthetic-data.ts';

const train = syntheticMatrix({ rows: 20_000, seed: 11, missingRate: 0.05 });
const validation = syntheticMatrix({ rows: 5_000, seed: 12, missingRate: 0.05, unseenCategories: true });
const params = logisticRegressionParamsSchema.parse({ kind: 'logistic-regression', minCategoryCount: 20 });

describe('logisticRegressionTrainer', () => {
  test('learns the linear part of the signal and converges', async () => {
    const progress: TrainingProgress[] = [];
    const model = await logisticRegressionTrainer.train({ train, validation }, params, {
      seed: 1,
      onProgress: (p) => void progress.push(p),
    });
    assert.ok(model instanceof LogisticRegressionModel);
    const auc = rocAuc(validation.label, model.predict(validation));
    assert.ok(auc > 0.7, `validation AUC ${auc}`);
    assert.equal(model.summary.converged, true);
    assert.ok(progress.length >= 2 && progress.length <= params.maxIterations);
    // Newton steps only ever lower the penalised objective; the plain training loss follows here.
    for (let i = 1; i < progress.length; i++) {
      assert.ok((progress[i]?.trainLoss ?? 0) <= (progress[i - 1]?.trainLoss ?? 0) + 1e-12);
    }
    // x has a positive effect (1.2 · x) and carrier-2 a positive one: the fit finds both.
    assert.ok((model.numericWeights[0] as number) > 0.5);
    const carrier = model.categorical[1];
    const carrier2 = carrier?.vocabulary.categories.indexOf('carrier-2') ?? -1;
    assert.ok(carrier2 >= 0);
    assert.ok((carrier?.weights[carrier2] as number) > Math.max(...Array.from(carrier?.weights ?? []).filter((_, i) => i !== carrier2)));
  });

  test('gives the same model whatever the seed: Newton has no randomness', async () => {
    const a = await logisticRegressionTrainer.train({ train, validation }, params, { seed: 1 });
    const b = await logisticRegressionTrainer.train({ train, validation }, params, { seed: 2 });
    assert.deepEqual(a.predict(validation), b.predict(validation));
  });

  test('keeps rare categories out of the vocabulary and caps its size', async () => {
    const capped = logisticRegressionParamsSchema.parse({ kind: 'logistic-regression', maxCategoriesPerFeature: 4, minCategoryCount: 1 });
    const model = await logisticRegressionTrainer.train({ train, validation }, capped, { seed: 1 });
    assert.equal(model.categorical[0]?.vocabulary.categories.length, 4);
    const strict = logisticRegressionParamsSchema.parse({ kind: 'logistic-regression', minCategoryCount: 1_000_000 });
    const none = await logisticRegressionTrainer.train({ train, validation }, strict, { seed: 1 });
    assert.equal(none.categorical[0]?.vocabulary.categories.length, 0);
    assert.ok(none.predict(validation).every((p) => p > 0 && p < 1));
  });

  test('scores categories by name, not by dictionary position', async () => {
    const model = await logisticRegressionTrainer.train({ train, validation }, params, { seed: 1 });
    const { dictionary, codes } = validation.categorical.columns[0] as { dictionary: string[]; codes: Int32Array };
    const reversed = [...dictionary].reverse();
    const recoded = codes.map((code) => (code < 0 ? code : dictionary.length - 1 - code));
    const shuffled = {
      ...validation,
      categorical: { ...validation.categorical, columns: [{ dictionary: reversed, codes: recoded }, validation.categorical.columns[1]!] },
    };
    assert.deepEqual(model.predict(shuffled), model.predict(validation));
  });

  test('refuses to score a matrix with other features', async () => {
    const model = await logisticRegressionTrainer.train({ train, validation }, params, { seed: 1 });
    const renamed = { ...validation, numeric: { ...validation.numeric, names: ['a', 'b', 'c', 'd'] } };
    assert.throws(() => model.predict(renamed), FeatureMatrixError);
  });
});
