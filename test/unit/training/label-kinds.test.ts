import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InferenceSession } from 'onnxruntime-node';
import type { FeatureMatrix } from '../../../domain/training/feature-matrix.ts';
import { gbdtTrainer } from '../../../domain/training/gbdt/gbdt-trainer.ts';
import { verifyOnnxParity } from '../../../domain/training/onnx-parity.ts';
import { Prng } from '../../../domain/training/prng.ts';
import { gbdtParamsSchema, linearRegressionParamsSchema, logisticRegressionParamsSchema } from '../../../shared/trainers.ts';
import { logisticRegressionTrainer } from '../../../domain/training/logistic-regression/lr-trainer.ts';
import { MultinomialLogisticRegressionModel } from '../../../domain/training/logistic-regression/multinomial-model.ts';
import { ridgeRegressionTrainer } from '../../../domain/training/logistic-regression/ridge-trainer.ts';
import { syntheticMatrix } from './synthetic-data.ts';
import { TrainingDataError, type TrainedModel, type TrainingProgress } from '../../../domain/training/trainer.ts';

/**
 * Regression and multiclass problems on the synthetic features: the target is a known function of
 * x, step and city plus noise, and the classes are bands of it, so a model that learns the signal
 * must beat predicting the mean (or the majority class) by a wide margin.
 */
function signal(matrix: FeatureMatrix, seed: number): Float64Array {
  const prng = new Prng(seed);
  const [x, , step] = matrix.numeric.columns as [Float64Array, Float64Array, Float64Array];
  const city = matrix.categorical.columns[0];
  return Float64Array.from({ length: matrix.rows }, (_, i) => {
    const xi = Number.isNaN(x[i]) ? 0 : (x[i] as number);
    const si = Number.isNaN(step[i]) ? 0 : (step[i] as number);
    const ci = city && (city.codes[i] as number) >= 0 ? (city.codes[i] as number) % 5 : 2;
    return 20 + 8 * xi + (si > 6 ? 15 : 0) + 3 * ci + 4 * (prng.next() - 0.5);
  });
}

const regression = (base: FeatureMatrix, seed: number, transform?: { log1p?: boolean; clip?: { min?: number; max?: number } }): FeatureMatrix => ({
  ...base,
  label: new Uint8Array(base.rows),
  task: { kind: 'regression', values: signal(base, seed), ...(transform ? { transform } : {}) },
});

const CLASSES = ['early', 'on-time', 'late', 'very-late'];
const multiclass = (base: FeatureMatrix, seed: number): FeatureMatrix => {
  const values = signal(base, seed);
  return { ...base, label: Uint8Array.from(values, (v) => (v < 12 ? 0 : v < 25 ? 1 : v < 38 ? 2 : 3)), task: { kind: 'multiclass', classes: CLASSES } };
};

const trainBase = syntheticMatrix({ rows: 8_000, seed: 1, missingRate: 0.05 });
const validationBase = syntheticMatrix({ rows: 2_000, seed: 2, missingRate: 0.05, unseenCategories: true });
const params = (overrides: Record<string, unknown> = {}) => gbdtParamsSchema.parse({ kind: 'gbdt', nTrees: 40, maxLeaves: 15, minSamplesLeaf: 20, learningRate: 0.2, ...overrides });

const rmse = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(sum / a.length);
};

async function outputNames(model: TrainedModel): Promise<readonly string[]> {
  const session = await InferenceSession.create(model.toOnnx({ modelName: 'm', modelVersion: 0, lineage: {} }));
  try {
    return session.outputNames;
  } finally {
    await session.release();
  }
}

describe('GBDT per label kind', () => {
  const train = regression(trainBase, 11);
  const validation = regression(validationBase, 12);
  const values = (m: FeatureMatrix) => (m.task?.kind === 'regression' ? m.task.values : new Float64Array());
  const spread = rmse(values(validation), new Float64Array(validation.rows).fill(values(train).reduce((a, b) => a + b, 0) / train.rows));

  for (const loss of ['squared', 'huber'] as const) {
    test(`regression with ${loss} loss learns the signal and exports a value output that matches it`, async () => {
      const model = await gbdtTrainer.train({ train, validation }, params({ loss }), { seed: 1 });
      const error = rmse(model.predict(validation), values(validation));
      assert.ok(error < spread / 3, `validation RMSE ${error} vs ${spread} predicting the mean`);
      assert.deepEqual(await outputNames(model), ['value']);
      const report = await verifyOnnxParity(model.toOnnx({ modelName: 'm', modelVersion: 0, lineage: {} }), validation, model.predict(validation));
      assert.ok(report.maxAbsDiff <= 1e-5, String(report.maxAbsDiff));
      assert.equal(model.summary.objective, loss === 'huber' ? 'huber' : 'squared-error');
    });
  }

  test('a log1p transform is fit on log1p(y) and undone in the graph, so predictions are in label units', async () => {
    const t = { log1p: true, clip: { min: 0 } };
    const model = await gbdtTrainer.train({ train: regression(trainBase, 11, t), validation: regression(validationBase, 12, t) }, params(), { seed: 1 });
    const predictions = model.predict(validation);
    const error = rmse(predictions, values(validation));
    assert.ok(error < spread / 2, `validation RMSE ${error} vs ${spread}`);
    await verifyOnnxParity(model.toOnnx({ modelName: 'm', modelVersion: 0, lineage: {} }), regression(validationBase, 12, t), predictions);
  });

  test('multiclass softmax beats the majority class, sums to 1 per row and matches its ONNX probabilities', async () => {
    const mTrain = multiclass(trainBase, 11);
    const mValidation = multiclass(validationBase, 12);
    const model = await gbdtTrainer.train({ train: mTrain, validation: mValidation }, params(), { seed: 1 });
    const p = model.predict(mValidation);
    assert.equal(p.length, mValidation.rows * CLASSES.length);
    let correct = 0;
    const counts = new Array<number>(CLASSES.length).fill(0);
    for (let i = 0; i < mValidation.rows; i++) {
      const row = Array.from(p.subarray(i * 4, i * 4 + 4));
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      const predicted = row.indexOf(Math.max(...row));
      correct += predicted === mValidation.label[i] ? 1 : 0;
      counts[mValidation.label[i] as number]! += 1;
    }
    const accuracy = correct / mValidation.rows;
    const majority = Math.max(...counts) / mValidation.rows;
    assert.ok(accuracy > majority + 0.2, `accuracy ${accuracy} vs majority ${majority}`);
    assert.deepEqual(await outputNames(model), ['probabilities']);
    const report = await verifyOnnxParity(model.toOnnx({ modelName: 'm', modelVersion: 0, lineage: {} }), mValidation, p);
    assert.ok(report.maxAbsDiff <= 1e-5);
  });

  test('multiclass resumes from a checkpoint to the same trees as an uninterrupted run', async () => {
    const mTrain = multiclass(trainBase, 11);
    const mValidation = multiclass(validationBase, 12);
    const saved: unknown[] = [];
    const full = await gbdtTrainer.train({ train: mTrain, validation: mValidation }, params({ nTrees: 20, subsample: 0.7 }), { seed: 5, checkpoint: { every: 10, save: async (s) => void saved.push(s) } });
    const resumed = await gbdtTrainer.train({ train: mTrain, validation: mValidation }, params({ nTrees: 20, subsample: 0.7 }), { seed: 5, checkpoint: { every: 10, save: async () => {}, resumeFrom: saved[0] } });
    assert.equal(resumed.summary.resumedFromIteration, 10);
    assert.deepEqual(resumed.predict(mValidation), full.predict(mValidation));
  });
});


describe('ridge regression', () => {
  test('fits the linear signal exactly enough, is deterministic and matches its ONNX value output', async () => {
    const train = regression(trainBase, 11);
    const validation = regression(validationBase, 12);
    const params = linearRegressionParamsSchema.parse({ kind: 'linear-regression' });
    const model = await ridgeRegressionTrainer.train({ train, validation }, params, { seed: 1 });
    const again = await ridgeRegressionTrainer.train({ train, validation }, params, { seed: 2 });
    const predictions = model.predict(validation);
    assert.deepEqual(predictions, again.predict(validation));
    const truth = validation.task?.kind === 'regression' ? validation.task.values : new Float64Array();
    const mean = truth.reduce((a, b) => a + b, 0) / truth.length;
    assert.ok(rmse(predictions, truth) < rmse(new Float64Array(truth.length).fill(mean), truth) / 2);
    assert.equal(model.kind, 'linear-regression');
    assert.deepEqual(await outputNames(model), ['value']);
    await verifyOnnxParity(model.toOnnx({ modelName: 'm', modelVersion: 0, lineage: {} }), validation, predictions);
  });

  test('refuses a label that is not a regression one', async () => {
    await assert.rejects(
      ridgeRegressionTrainer.train({ train: trainBase, validation: validationBase }, linearRegressionParamsSchema.parse({ kind: 'linear-regression' }), { seed: 1 }),
      (err: Error) => err instanceof TrainingDataError && /regression label/.test(err.message),
    );
  });
});

describe('multinomial logistic regression', () => {
  const lrParams = logisticRegressionParamsSchema.parse({ kind: 'logistic-regression', minCategoryCount: 20 });

  test('converges in a few Newton steps, beats the majority class, is seed-free and matches its ONNX probabilities', async () => {
    const mTrain = multiclass(trainBase, 11);
    const mValidation = multiclass(validationBase, 12);
    const progress: TrainingProgress[] = [];
    const model = await logisticRegressionTrainer.train({ train: mTrain, validation: mValidation }, lrParams, { seed: 1, onProgress: (p) => void progress.push(p) });
    assert.ok(model instanceof MultinomialLogisticRegressionModel);
    // An exact Hessian converges quadratically; a wrong one would crawl to the iteration cap.
    assert.equal(model.summary.converged, true);
    assert.ok(progress.length >= 2 && progress.length <= 15, `${progress.length} Newton steps`);
    for (let i = 1; i < progress.length; i++) assert.ok((progress[i]?.trainLoss ?? 0) <= (progress[i - 1]?.trainLoss ?? 0) + 1e-12);
    const p = model.predict(mValidation);
    assert.equal(p.length, mValidation.rows * CLASSES.length);
    let correct = 0;
    const counts = new Array<number>(CLASSES.length).fill(0);
    for (let i = 0; i < mValidation.rows; i++) {
      const row = Array.from(p.subarray(i * 4, i * 4 + 4));
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      correct += row.indexOf(Math.max(...row)) === mValidation.label[i] ? 1 : 0;
      counts[mValidation.label[i] as number]! += 1;
    }
    const accuracy = correct / mValidation.rows;
    const majority = Math.max(...counts) / mValidation.rows;
    assert.ok(accuracy > majority + 0.2, `accuracy ${accuracy} vs majority ${majority}`);

    const again = await logisticRegressionTrainer.train({ train: mTrain, validation: mValidation }, lrParams, { seed: 2 });
    assert.deepEqual(again.predict(mValidation), p);
    assert.deepEqual(await outputNames(model), ['probabilities']);
    const report = await verifyOnnxParity(model.toOnnx({ modelName: 'm', modelVersion: 0, lineage: {} }), mValidation, p);
    assert.ok(report.maxAbsDiff <= 1e-5);
  });

  test('a class absent from training stays unlikely, and a single class is refused', async () => {
    const mTrain = multiclass(trainBase, 11);
    const withoutLast = { ...mTrain, label: mTrain.label.map((y) => Math.min(y, 2)) };
    const model = await logisticRegressionTrainer.train({ train: withoutLast, validation: multiclass(validationBase, 12) }, lrParams, { seed: 1 });
    const p = model.predict(multiclass(validationBase, 12));
    let maxLast = 0;
    for (let i = 0; i < p.length; i += 4) maxLast = Math.max(maxLast, p[i + 3] as number);
    assert.ok(maxLast < 0.01, `P(absent class) up to ${maxLast}`);
    await assert.rejects(
      logisticRegressionTrainer.train({ train: { ...mTrain, label: new Uint8Array(mTrain.rows).fill(1) }, validation: multiclass(validationBase, 12) }, lrParams, { seed: 1 }),
      (err: Error) => err instanceof TrainingDataError && /1 of the 4 classes/.test(err.message),
    );
  });
});
