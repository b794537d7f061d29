import { logisticRegressionParamsSchema, type LogisticRegressionParams } from '../../../shared/trainers.ts';
import { assertFeatureMatrix, assertSameFeatures, featureNames, matrixClasses } from '../feature-matrix.ts';
import { meanMarginLogLoss } from '../margin-loss.ts';
import { TrainingDataError, yieldToEventLoop, type Trainer, type TrainingContext, type TrainingData } from '../trainer.ts';
import { blockStarts, buildDesign, margins } from './design.ts';
import { fitNumericScaling, fitVocabulary } from './encoding.ts';
import { LogisticRegressionModel } from './lr-model.ts';
import { MultinomialLogisticRegressionModel } from './multinomial-model.ts';
import { newtonStep, objective, type NewtonState } from './newton.ts';
import { meanCrossEntropy, softmaxNewtonStep, softmaxObjective, softmaxScores, type SoftmaxNewtonState } from './softmax-newton.ts';

/**
 * L2-regularised logistic regression fitted by damped Newton steps (exact Hessian, Cholesky solve,
 * step halving): binary, or multinomial (softmax) for a multiclass label. It needs no randomness, so
 * the seed changes nothing, and a run converges in a handful of passes over the data; it does not
 * checkpoint because restarting costs only those passes.
 */
export const logisticRegressionTrainer: Trainer<LogisticRegressionParams, LogisticRegressionModel | MultinomialLogisticRegressionModel> = {
  kind: 'logistic-regression',

  async train({ train, validation }, rawParams: LogisticRegressionParams, ctx: TrainingContext): Promise<LogisticRegressionModel | MultinomialLogisticRegressionModel> {
    const params = logisticRegressionParamsSchema.parse(rawParams);
    assertFeatureMatrix(train);
    assertFeatureMatrix(validation);
    const features = featureNames(train);
    assertSameFeatures(features, validation);
    if (train.task?.kind === 'multiclass') return trainMultinomial({ train, validation }, params, ctx);
    if (train.task !== undefined) throw new TrainingDataError(`logistic-regression fits a binary or multiclass label; this one is ${train.task.kind}`);
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

/**
 * Newton rather than L-BFGS: the Hessian is (K − 1)·d square (≈1,500 for four classes on the flights
 * features), so building it costs one pass over the rows and solving it about a second, and Newton
 * converges in a few such passes where L-BFGS would need dozens of gradient passes over the same rows.
 */
async function trainMultinomial({ train, validation }: TrainingData, params: LogisticRegressionParams, ctx: TrainingContext): Promise<MultinomialLogisticRegressionModel> {
  const features = featureNames(train);
  const classes = matrixClasses(train);
  const k = classes.length;
  const others = k - 1;
  const counts = new Float64Array(k);
  for (let i = 0; i < train.rows; i++) counts[train.label[i] as number] = (counts[train.label[i] as number] as number) + 1;
  const present = counts.filter((c) => c > 0).length;
  if (present < 2) throw new TrainingDataError(`Training labels hold ${present} of the ${k} classes; a classifier needs at least two`);

  const scaling = fitNumericScaling(train);
  const vocabularies = train.categorical.columns.map((column) => fitVocabulary(column, params.minCategoryCount, params.maxCategoriesPerFeature));
  const trainDesign = buildDesign(train, scaling, vocabularies);
  const validationDesign = buildDesign(validation, scaling, vocabularies);
  const d = trainDesign.dimension;
  const validationScores = new Float64Array(validation.rows * others);

  // Intercepts at the (smoothed) class log-odds against class 0: a class absent from training starts
  // very unlikely instead of at log 0.
  const start = new Float64Array(others * d);
  for (let c = 0; c < others; c++) start[c * d] = Math.log(((counts[c + 1] as number) + 0.5) / ((counts[0] as number) + 0.5));
  const startScores = new Float64Array(train.rows * others);
  let state: SoftmaxNewtonState = { weights: start, objective: softmaxObjective(trainDesign, train.label, start, others, params.l2, startScores), scores: startScores };
  let iterations = 0;
  let converged = false;
  await yieldToEventLoop();

  while (iterations < params.maxIterations) {
    const next = softmaxNewtonStep(trainDesign, train.label, others, params.l2, state);
    if (next === null) {
      converged = true;
      break;
    }
    const improvement = state.objective - next.objective;
    state = next;
    iterations++;
    softmaxScores(validationDesign, state.weights, others, validationScores);
    await ctx.onProgress?.({
      iteration: iterations,
      trainLoss: meanCrossEntropy(state.scores, train.label, others),
      validationLoss: meanCrossEntropy(validationScores, validation.label, others),
    });
    await yieldToEventLoop();
    if (improvement <= params.tolerance * Math.max(1, Math.abs(state.objective))) {
      converged = true;
      break;
    }
  }

  // Class 0's weights are the fixed zeros of the reference class; the others come from W.
  const w = state.weights;
  const weightOf = (c: number, index: number) => (c === 0 ? 0 : (w[(c - 1) * d + index] as number));
  const kNum = features.numeric.length;
  const numericWeights = new Float32Array(kNum * k);
  for (let j = 0; j < kNum; j++) for (let c = 0; c < k; c++) numericWeights[j * k + c] = weightOf(c, 1 + j);
  const starts = blockStarts(kNum, vocabularies);
  const categorical = vocabularies.map((vocabulary, j) => {
    const first = starts[j] as number;
    const rows = vocabulary.categories.length + 1;
    const table = new Float32Array(rows * k);
    for (let r = 0; r < rows; r++) for (let c = 0; c < k; c++) table[r * k + c] = weightOf(c, first + r);
    return { vocabulary, table };
  });
  const intercept = Float32Array.from({ length: k }, (_, c) => weightOf(c, 0));
  softmaxScores(validationDesign, w, others, validationScores);
  return new MultinomialLogisticRegressionModel(features, classes, scaling, numericWeights, categorical, intercept, {
    iterations,
    converged,
    objective: state.objective,
    trainLoss: meanCrossEntropy(state.scores, train.label, others),
    validationLoss: meanCrossEntropy(validationScores, validation.label, others),
    dimension: others * d,
    classCounts: Object.fromEntries(classes.map((name, c) => [name, counts[c] as number])),
    vocabularySizes: Object.fromEntries(features.categorical.map((name, j) => [name, vocabularies[j]?.categories.length ?? 0])),
    trainRows: train.rows,
    validationRows: validation.rows,
  });
}
