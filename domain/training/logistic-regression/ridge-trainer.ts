import { linearRegressionParamsSchema, type LinearRegressionParams } from '../../../shared/trainers.ts';
import { assertFeatureMatrix, assertSameFeatures, featureNames, labelTaskOf, regressionValues } from '../feature-matrix.ts';
import { transformLabel } from '../label-transform.ts';
import { TrainingDataError, yieldToEventLoop, type Trainer, type TrainingContext } from '../trainer.ts';
import { solvePositiveDefinite } from './cholesky.ts';
import { blockStarts, buildDesign, margins, type Design } from './design.ts';
import { fitNumericScaling, fitVocabulary } from './encoding.ts';
import { LogisticRegressionModel } from './lr-model.ts';

/**
 * Ridge regression on the same encoding as logistic regression (standardised numerics, one-hot
 * categoricals inside the graph): the normal equations (XᵀX/n + l2·I′) w = Xᵀy/n, intercept
 * unpenalised, solved once by Cholesky. Exact and deterministic, so there is nothing to checkpoint
 * and the seed changes nothing. The label transform (clip, log1p) is fit on and undone in the graph.
 */
export const ridgeRegressionTrainer: Trainer<LinearRegressionParams, LogisticRegressionModel> = {
  kind: 'linear-regression',

  async train({ train, validation }, rawParams: LinearRegressionParams, ctx: TrainingContext): Promise<LogisticRegressionModel> {
    const params = linearRegressionParamsSchema.parse(rawParams);
    assertFeatureMatrix(train);
    assertFeatureMatrix(validation);
    const features = featureNames(train);
    assertSameFeatures(features, validation);
    const task = labelTaskOf(train);
    if (task.kind !== 'regression') throw new TrainingDataError(`linear-regression needs a regression label, got ${task.kind}`);
    if (train.rows === 0) throw new TrainingDataError('linear-regression needs training rows');
    const y = transformLabel(regressionValues(train), task.transform);
    const yValidation = transformLabel(regressionValues(validation), task.transform);

    const scaling = fitNumericScaling(train);
    const vocabularies = train.categorical.columns.map((column) => fitVocabulary(column, params.minCategoryCount, params.maxCategoriesPerFeature));
    const design = buildDesign(train, scaling, vocabularies);
    const w = solvePositiveDefinite(...normalEquations(design, y, params.l2), design.dimension);
    await yieldToEventLoop();

    const trainMargin = new Float64Array(train.rows);
    const validationMargin = new Float64Array(validation.rows);
    margins(design, w, trainMargin);
    margins(buildDesign(validation, scaling, vocabularies), w, validationMargin);
    const trainLoss = meanHalfSquaredError(trainMargin, y);
    const validationLoss = meanHalfSquaredError(validationMargin, yValidation);
    await ctx.onProgress?.({ iteration: 1, trainLoss, validationLoss });

    const kNum = features.numeric.length;
    const starts = blockStarts(kNum, vocabularies);
    const categorical = vocabularies.map((vocabulary, j) => {
      const first = starts[j] as number;
      const size = vocabulary.categories.length;
      return { vocabulary, weights: Float32Array.from(w.subarray(first, first + size)), other: Math.fround(w[first + size] as number) };
    });
    return new LogisticRegressionModel(
      features,
      scaling,
      Float32Array.from(w.subarray(1, 1 + kNum)),
      categorical,
      Math.fround(w[0] as number),
      { objective: 'squared-error', trainLoss, validationLoss, dimension: design.dimension, trainRows: train.rows, validationRows: validation.rows },
      task,
    );
  },
};

/** Σ x xᵀ / n + l2 on the diagonal (not the intercept's), and Σ x y / n, over the design's sparse rows. */
function normalEquations(design: Design, y: Float64Array, l2: number): [Float64Array, Float64Array] {
  const d = design.dimension;
  const n = design.rows;
  const kNum = design.numeric.length;
  const gram = new Float64Array(d * d);
  const rhs = new Float64Array(d);
  const activeCount = 1 + kNum + design.active.length;
  const index = new Int32Array(activeCount);
  const value = new Float64Array(activeCount);
  index[0] = 0;
  value[0] = 1;
  for (let j = 0; j < kNum; j++) index[1 + j] = 1 + j;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < kNum; j++) value[1 + j] = (design.numeric[j] as Float64Array)[i] as number;
    for (let c = 0; c < design.active.length; c++) {
      index[1 + kNum + c] = (design.active[c] as Int32Array)[i] as number;
      value[1 + kNum + c] = 1;
    }
    const yi = y[i] as number;
    for (let a = 0; a < activeCount; a++) {
      const ia = index[a] as number;
      const va = value[a] as number;
      rhs[ia] = (rhs[ia] as number) + va * yi;
      for (let b = 0; b < activeCount; b++) {
        const cell = ia * d + (index[b] as number);
        gram[cell] = (gram[cell] as number) + va * (value[b] as number);
      }
    }
  }
  // A tiny jitter keeps columns no row activates (an empty "other") solvable when l2 = 0.
  for (let a = 0; a < d; a++) {
    rhs[a] = (rhs[a] as number) / n;
    for (let b = 0; b < d; b++) gram[a * d + b] = (gram[a * d + b] as number) / n + (a === b ? (a > 0 ? l2 : 0) + 1e-10 : 0);
  }
  return [gram, rhs];
}

function meanHalfSquaredError(prediction: Float64Array, y: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += 0.5 * ((prediction[i] as number) - (y[i] as number)) ** 2;
  return y.length === 0 ? NaN : sum / y.length;
}
