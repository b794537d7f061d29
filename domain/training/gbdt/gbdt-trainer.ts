import { gbdtParamsSchema, type GbdtParams } from '../../../shared/trainers.ts';
import { assertFeatureMatrix, assertSameFeatures, featureNames, type FeatureMatrix } from '../feature-matrix.ts';
import { meanMarginLogLoss } from '../margin-loss.ts';
import { Prng } from '../prng.ts';
import { TrainingDataError, yieldToEventLoop, type Trainer, type TrainingContext } from '../trainer.ts';
import { binRows, fitBinEdges, MISSING_BIN } from './binning.ts';
import { parseCheckpoint, runFingerprint, type GbdtCheckpoint } from './checkpoint.ts';
import { rankCategories, treeFeatureColumns } from './features.ts';
import { GbdtModel } from './gbdt-model.ts';
import { deserializeTree, LEAF, serializeTree, type Tree } from './tree.ts';
import { TreeBuilder, type BinnedData } from './tree-builder.ts';

/** Progress reports estimate the training loss on at most this many evenly spaced rows. */
const TRAIN_LOSS_ROWS = 200_000;
const MIN_HESSIAN = 1e-16;

/**
 * Histogram gradient boosting for binary log loss. Every random draw (row subsample, feature subset)
 * comes from one seeded PRNG in a fixed order, so a seed fixes the model; the PRNG state after each
 * tree goes into checkpoints.
 */
export const gbdtTrainer: Trainer<GbdtParams, GbdtModel> = {
  kind: 'gbdt',

  async train({ train, validation }, rawParams: GbdtParams, ctx: TrainingContext): Promise<GbdtModel> {
    const params = gbdtParamsSchema.parse(rawParams);
    assertFeatureMatrix(train);
    assertFeatureMatrix(validation);
    const features = featureNames(train);
    assertSameFeatures(features, validation);
    if (validation.rows === 0) throw new TrainingDataError('GBDT needs validation rows for early stopping');
    const baseScore = logOdds(train);

    const rankings = train.categorical.columns.map((column) => rankCategories(column, train.label, params.categoricalSmoothing));
    const trainColumns = treeFeatureColumns(train, rankings);
    const edges = trainColumns.map((column) => fitBinEdges(column, params.maxBins));
    const featureCount = trainColumns.length;
    const trainData: BinnedData = { bins: binRows(trainColumns, edges, train.rows), rows: train.rows, featureCount, edges };
    const validationBins = binRows(treeFeatureColumns(validation, rankings), edges, validation.rows);
    await yieldToEventLoop();

    const fingerprint = runFingerprint(params, ctx.seed, trainData.bins, validationBins, [train.label, validation.label]);
    const resumed = ctx.checkpoint?.resumeFrom !== undefined ? parseCheckpoint(ctx.checkpoint.resumeFrom, fingerprint) : undefined;
    const trees: Tree[] = resumed?.trees.map(deserializeTree) ?? [];
    const prng = resumed ? Prng.fromState(resumed.prngState) : new Prng(ctx.seed);
    let bestIteration = resumed?.bestIteration ?? 0;
    let bestValidationLoss = resumed?.bestValidationLoss ?? Infinity;

    const trainScore = new Float64Array(train.rows).fill(baseScore);
    const validationScore = new Float64Array(validation.rows).fill(baseScore);
    for (const tree of trees) {
      addTree(tree, trainData.bins, featureCount, trainScore);
      addTree(tree, validationBins, featureCount, validationScore);
    }

    const builder = new TreeBuilder(trainData, { bins: validationBins, rows: validation.rows }, params);
    const sample = new Uint32Array(train.rows);
    const unsampled = new Uint32Array(train.rows);
    const inSample = new Uint8Array(train.rows);
    const gradHess = new Float64Array(2 * train.rows);
    const allFeatures = Int32Array.from({ length: featureCount }, (_, f) => f);
    const featuresPerTree = Math.max(1, Math.round(params.colsample * featureCount));
    const lossStride = Math.max(1, Math.ceil(train.rows / TRAIN_LOSS_ROWS));
    const earlyStopping = params.earlyStoppingRounds > 0;
    let lastTrainLoss = NaN;

    while (trees.length < params.nTrees) {
      // Checked first so a run resumed from a checkpoint taken at the stopping point stops too.
      if (earlyStopping && trees.length - bestIteration >= params.earlyStoppingRounds) break;

      const sampleSize = drawSample(prng, params.subsample, inSample, sample, unsampled);
      const treeFeatures = featuresPerTree < featureCount ? drawFeatures(prng, featureCount, featuresPerTree) : allFeatures;
      logLossGradients(sample, sampleSize, trainScore, train.label, gradHess);
      const tree = builder.grow(sample, sampleSize, unsampled, gradHess, treeFeatures);
      builder.addLeafValues(tree, trainScore, validationScore);
      trees.push(tree);

      const iteration = trees.length;
      const validationLoss = meanMarginLogLoss(validationScore, validation.label);
      lastTrainLoss = meanMarginLogLoss(trainScore, train.label, lossStride);
      if (validationLoss < bestValidationLoss) {
        bestValidationLoss = validationLoss;
        bestIteration = iteration;
      }
      await ctx.onProgress?.({ iteration, trainLoss: lastTrainLoss, validationLoss });
      if (ctx.checkpoint && iteration % ctx.checkpoint.every === 0) {
        const state: GbdtCheckpoint = {
          format: 'sluice.gbdt-checkpoint.v1',
          fingerprint,
          trees: trees.map(serializeTree),
          prngState: prng.state,
          bestIteration,
          bestValidationLoss,
        };
        await ctx.checkpoint.save(state);
      }
      await yieldToEventLoop();
    }

    const kept = earlyStopping ? trees.slice(0, bestIteration) : trees;
    return new GbdtModel(features, rankings, kept, baseScore, {
      iterations: trees.length,
      bestIteration: earlyStopping ? bestIteration : trees.length,
      treesKept: kept.length,
      stoppedEarly: trees.length < params.nTrees,
      leaves: kept.reduce((sum, tree) => sum + tree.feature.filter((f) => f < 0).length, 0),
      bestValidationLoss,
      lastTrainLossEstimate: lastTrainLoss,
      resumedFromIteration: resumed?.trees.length ?? null,
      trainRows: train.rows,
      validationRows: validation.rows,
      binsPerFeature: Object.fromEntries(
        [...features.numeric, ...features.categorical].map((name, f) => [name, (edges[f] as Float32Array).length + 1]),
      ),
      baseScore,
    });
  },
};

/** float32 log-odds of the positive rate: the margin every row starts from. */
function logOdds(train: FeatureMatrix): number {
  let positives = 0;
  for (let i = 0; i < train.rows; i++) positives += train.label[i] as number;
  if (positives === 0 || positives === train.rows) {
    throw new TrainingDataError(`Training labels are all ${positives === 0 ? 0 : 1}; a classifier needs both classes`);
  }
  return Math.fround(Math.log(positives / (train.rows - positives)));
}

/** Bernoulli row sample: `sample` lists the rows drawn ascending, `unsampled` the others. */
function drawSample(prng: Prng, rate: number, inSample: Uint8Array, sample: Uint32Array, unsampled: Uint32Array): number {
  if (rate >= 1) inSample.fill(1);
  else prng.fillBernoulli(rate, inSample);
  let size = 0;
  let rest = 0;
  for (let r = 0; r < inSample.length; r++) {
    const drawn = inSample[r] as number;
    sample[size] = r;
    unsampled[rest] = r;
    size += drawn;
    rest += 1 - drawn;
  }
  return size;
}

/** `count` distinct features by a partial Fisher–Yates shuffle, ascending. */
function drawFeatures(prng: Prng, featureCount: number, count: number): Int32Array {
  const pool = Int32Array.from({ length: featureCount }, (_, f) => f);
  for (let i = 0; i < count; i++) {
    const j = i + prng.nextInt(featureCount - i);
    const swap = pool[i] as number;
    pool[i] = pool[j] as number;
    pool[j] = swap;
  }
  return pool.slice(0, count).sort();
}

function logLossGradients(
  sample: Uint32Array,
  sampleSize: number,
  score: Float64Array,
  label: Uint8Array,
  gradHess: Float64Array,
): void {
  for (let i = 0; i < sampleSize; i++) {
    const r = sample[i] as number;
    const p = 1 / (1 + Math.exp(-(score[r] as number)));
    gradHess[2 * r] = p - (label[r] as number);
    gradHess[2 * r + 1] = Math.max(p * (1 - p), MIN_HESSIAN);
  }
}

/** Adds a checkpointed tree's leaf value to each row's score, as training did when it built the tree. */
function addTree(tree: Tree, bins: Uint8Array, featureCount: number, score: Float64Array): void {
  const { feature, bin, missingLeft, left, right, value } = tree;
  for (let r = 0; r < score.length; r++) {
    const base = r * featureCount;
    let node = 0;
    let f = feature[0] as number;
    while (f !== LEAF) {
      const b = bins[base + f] as number;
      const goLeft = b === MISSING_BIN ? missingLeft[node] === 1 : b <= (bin[node] as number);
      node = (goLeft ? left[node] : right[node]) as number;
      f = feature[node] as number;
    }
    score[r] = (score[r] as number) + (value[node] as number);
  }
}
