import { logisticRegressionParamsSchema, type LogisticRegressionParams } from '../../../shared/trainers.ts';
import { assertFeatureMatrix, assertSameFeatures, featureNames } from '../feature-matrix.ts';
import { meanMarginLogLoss } from '../margin-loss.ts';
import { TrainingDataError, yieldToEventLoop, type Trainer, type TrainingContext } from '../trainer.ts';
import { blockStarts, buildDesign, margins } from './design.ts';
import { fitNumericScaling, fitVocabulary } from './encoding.ts';
import { LogisticRegressionModel } from './lr-model.ts';
import { newtonStep, objective, type NewtonState } from './newton.ts';

/**
 * L2-regularised logistic regression fitted by damped Newton steps (exact Hessian, Cholesky solve,
 * step halving). It needs no randomness, so the seed changes nothing, and a run converges in a
 * handful of passes over the data; it does not checkpoint because restarting costs only those passes.
 */
export const logisticRegressionTrainer: Trainer<LogisticRegressionParams, LogisticRegressionModel> = {
  kind: 'logistic-regression',

  async train({ train, validation }, rawParams: LogisticRegressionParams, ctx: TrainingContext): Promise<LogisticRegressionModel> {
    const params = logisticRegressionParamsSchema.parse(rawParams);
    assertFeatureMatrix(train);
    assertFeatureMatrix(validation);
    const features = featureNames(train);
    assertSameFeatures(features, validation);
    if (train.task !== undefined) throw new TrainingDataError(`logistic-regression fits a binary label; this one is ${train.task.kind}`);
    let positives = 0;
    for (let i = 0; i < train.rows; i++) positives += train.label[i] as number;
    if (positives === 0 || positives === train.rows) {
      throw new TrainingDataError(`Training labels are all ${positives === 0 ? 0 : 1}; a classifier needs both classes`);
    }

    const scaling = fitNumericScaling(train);
    const vocabularies = train.categorical.columns.map((column) =>
      fitVocabulary(column, params.minCategoryCount, params.maxCategoriesPerFeature),
    );
    const trainDesign = buildDesign(train, scaling, vocabularies);
    const validationDesign = buildDesign(validation, scaling, vocabularies);
    const validationMargin = new Float64Array(validation.rows);

    // Start from the intercept that matches the base rate: the first step then has less to do.
    const start = new Float64Array(trainDesign.dimension);
    start[0] = Math.log(positives / (train.rows - positives));
    const startMargin = new Float64Array(train.rows);
    let state: NewtonState = { weights: start, objective: objective(trainDesign, train.label, start, params.l2, startMargin), margin: startMargin };
    let iterations = 0;
    let converged = false;
    await yieldToEventLoop();

    while (iterations < params.maxIterations) {
      const next = newtonStep(trainDesign, train.label, params.l2, state);
      if (next === null) {
        converged = true;
        break;
      }
      const improvement = state.objective - next.objective;
      state = next;
      iterations++;
      margins(validationDesign, state.weights, validationMargin);
      await ctx.onProgress?.({
        iteration: iterations,
        trainLoss: meanMarginLogLoss(state.margin, train.label),
        validationLoss: meanMarginLogLoss(validationMargin, validation.label),
      });
      await yieldToEventLoop();
      if (improvement <= params.tolerance * Math.max(1, Math.abs(state.objective))) {
        converged = true;
        break;
      }
    }

    const w = state.weights;
    const kNum = features.numeric.length;
    const starts = blockStarts(kNum, vocabularies);
    const categorical = vocabularies.map((vocabulary, j) => {
      const first = starts[j] as number;
      const size = vocabulary.categories.length;
      return { vocabulary, weights: Float32Array.from(w.subarray(first, first + size)), other: Math.fround(w[first + size] as number) };
    });
    margins(validationDesign, w, validationMargin);
    return new LogisticRegressionModel(features, scaling, Float32Array.from(w.subarray(1, 1 + kNum)), categorical, Math.fround(w[0] as number), {
      iterations,
      converged,
      objective: state.objective,
      trainLoss: meanMarginLogLoss(state.margin, train.label),
      validationLoss: meanMarginLogLoss(validationMargin, validation.label),
      dimension: trainDesign.dimension,
      vocabularySizes: Object.fromEntries(features.categorical.map((name, j) => [name, vocabularies[j]?.categories.length ?? 0])),
      trainRows: train.rows,
      validationRows: validation.rows,
    });
  },
};
