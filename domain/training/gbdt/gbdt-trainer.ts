import { availableParallelism } from 'node:os';
import { gbdtParamsSchema, type GbdtParams } from '../../../shared/trainers.ts';
import { assertFeatureMatrix, assertSameFeatures, featureNames, labelTaskOf, matrixKind } from '../feature-matrix.ts';
import { Prng } from '../prng.ts';
import { TrainingDataError, yieldToEventLoop, type Trainer, type TrainingContext } from '../trainer.ts';
import { gbdtObjective, objectiveInputs, type Scores } from './objectives.ts';
import { binRows, categoryEdges, fitBinEdges, MISSING_BIN } from './binning.ts';
import { parseCheckpoint, runFingerprint, type GbdtCheckpoint } from './checkpoint.ts';
import { categoryCodes, treeFeatureColumns, type CategoryCodes } from './features.ts';
import { GbdtModel } from './gbdt-model.ts';
import { MAX_BLOCKS } from './histograms.ts';
import { deserializeTree, inCategorySet, isCategoricalNode, LEAF, serializeTree, type Tree } from './tree.ts';
import { sharedScores, TreeBuilder, type BinnedData } from './tree-builder.ts';

/** Progress reports estimate the training loss on at most this many evenly spaced rows. */
const TRAIN_LOSS_ROWS = 200_000;

/**
 * Histogram gradient boosting: binary log loss, squared error or Huber for regression, softmax for
 * multiclass (objectives.ts). Every random draw (row subsample, feature subset)
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
    if (matrixKind(validation) !== matrixKind(train)) throw new TrainingDataError(`train has a ${matrixKind(train)} label, validation a ${matrixKind(validation)} one`);
    const output = labelTaskOf(train);
    const objective = gbdtObjective(train, validation, params, output);
    const outputs = objective.baseScores.length;

    const codes = train.categorical.columns.map((column) => categoryCodes(column, params.maxBins));
    const trainColumns = treeFeatureColumns(train, codes);
    const numericCount = train.numeric.columns.length;
    const categorical = trainColumns.map((_, f) => f >= numericCount);
    const edges = trainColumns.map((column, f) =>
      f < numericCount ? fitBinEdges(column, params.maxBins) : categoryEdges((codes[f - numericCount] as CategoryCodes).categories.length),
    );
    const featureCount = trainColumns.length;
    const trainData: BinnedData = { bins: binRows(trainColumns, edges, train.rows), rows: train.rows, featureCount, edges, categorical };
    const validationBins = binRows(treeFeatureColumns(validation, codes), edges, validation.rows);
    await yieldToEventLoop();

    const fingerprint = runFingerprint(params, ctx.seed, trainData.bins, validationBins, objective.labelBytes);
    const resumed = ctx.checkpoint?.resumeFrom !== undefined ? parseCheckpoint(ctx.checkpoint.resumeFrom, fingerprint) : undefined;
    const trees: Tree[] = resumed?.trees.map(deserializeTree) ?? [];
    const prng = resumed ? Prng.fromState(resumed.prngState) : new Prng(ctx.seed);
    let bestIteration = resumed?.bestIteration ?? 0;
    let bestValidationLoss = resumed?.bestValidationLoss ?? Infinity;

    const trainScores = sharedScores(train.rows, objective.baseScores, objective.usesOdds);
    const validationScores = sharedScores(validation.rows, objective.baseScores, objective.usesOdds);
    trees.forEach((tree, t) => {
      addTree(tree, trainData.bins, featureCount, trainScores, t % outputs);
      addTree(tree, validationBins, featureCount, validationScores, t % outputs);
    });

    const threads = params.threads ?? defaultThreads(train.rows, featureCount);
    const builder = new TreeBuilder(trainData, { bins: validationBins, rows: validation.rows }, params, {
      outputs,
      threads,
      scores: { train: trainScores, validation: validationScores },
      objective: { instance: objective, inputs: objectiveInputs(train, validation, params, output) },
    });
    const allFeatures = Int32Array.from({ length: featureCount }, (_, f) => f);
    const featuresPerTree = Math.max(1, Math.round(params.colsample * featureCount));
    const lossStride = Math.max(1, Math.ceil(train.rows / TRAIN_LOSS_ROWS));
    const earlyStopping = params.earlyStoppingRounds > 0;
    let lastTrainLoss = NaN;

    // An iteration is a round: one tree per output, every one grown on the gradients at the round's start.
    try {
      while (trees.length / outputs < params.nTrees) {
        // Checked first so a run resumed from a checkpoint taken at the stopping point stops too.
        if (earlyStopping && trees.length / outputs - bestIteration >= params.earlyStoppingRounds) break;

        const sampleSize = builder.drawSample(prng, params.subsample);
        const treeFeatures = featuresPerTree < featureCount ? drawFeatures(prng, featureCount, featuresPerTree) : allFeatures;
        builder.computeGradients(sampleSize);
        for (let k = 0; k < outputs; k++) {
          const tree = builder.grow(sampleSize, k, treeFeatures);
          builder.addLeafValues(tree, k);
          trees.push(tree);
        }

        const iteration = trees.length / outputs;
        const validationLoss = builder.meanLoss('validation', 1);
        lastTrainLoss = builder.meanLoss('train', lossStride);
        if (validationLoss < bestValidationLoss) {
          bestValidationLoss = validationLoss;
          bestIteration = iteration;
        }
        await ctx.onProgress?.({ iteration, trainLoss: lastTrainLoss, validationLoss });
        if (ctx.checkpoint && iteration % ctx.checkpoint.every === 0) {
          const state: GbdtCheckpoint = {
            format: 'sluice.gbdt-checkpoint.v2',
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
    } finally {
      await builder.close();
    }

    const rounds = trees.length / outputs;
    const kept = earlyStopping ? trees.slice(0, bestIteration * outputs) : trees;
    return new GbdtModel(
      features,
      codes,
      kept,
      objective.baseScores.length === 1 ? (objective.baseScores[0] as number) : objective.baseScores,
      {
        ...(output.kind === 'binary' ? {} : { objective: objective.name, ...objective.summary }),
        iterations: rounds,
        bestIteration: earlyStopping ? bestIteration : rounds,
        treesKept: kept.length,
        stoppedEarly: rounds < params.nTrees,
        leaves: kept.reduce((sum, tree) => sum + tree.feature.filter((f) => f < 0).length, 0),
        bestValidationLoss,
        lastTrainLossEstimate: lastTrainLoss,
        resumedFromIteration: resumed ? resumed.trees.length / outputs : null,
        threads,
        trainRows: train.rows,
        validationRows: validation.rows,
        binsPerFeature: Object.fromEntries(
          [...features.numeric, ...features.categorical].map((name, f) => [name, (edges[f] as Float32Array).length + 1]),
        ),
        baseScore: objective.baseScores.length === 1 ? objective.baseScores[0] : objective.baseScores,
      },
      output,
    );
  },
};

/**
 * A helper thread per this many training cells (rows × features): below it, trees are built on one
 * thread, since a helper costs a thread start and small leaves are summed in one block anyway.
 */
const CELLS_PER_EXTRA_THREAD = 2_000_000;
/** Threads by default: one more per CELLS_PER_EXTRA_THREAD cells, at most one per core and one per histogram block. */
function defaultThreads(rows: number, featureCount: number): number {
  return Math.min(availableParallelism(), MAX_BLOCKS, 1 + Math.floor((rows * featureCount) / CELLS_PER_EXTRA_THREAD));
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

/** Adds a checkpointed tree's leaf value to each row's score of output k, as training did when it built the tree. */
function addTree(tree: Tree, bins: Uint8Array, featureCount: number, scores: Scores, k: number): void {
  const { feature, bin, missingLeft, left, right, value } = tree;
  const score = scores.margin[k] as Float64Array;
  const odds = scores.odds?.[k];
  const factor = Float64Array.from(value, Math.exp);
  for (let r = 0; r < score.length; r++) {
    const base = r * featureCount;
    let node = 0;
    let f = feature[0] as number;
    while (f !== LEAF) {
      const b = bins[base + f] as number;
      // A categorical node's codes are bins - 1; the missing bin is in no set.
      const goLeft = isCategoricalNode(tree, node)
        ? inCategorySet(tree, node, b - 1)
        : b === MISSING_BIN
          ? missingLeft[node] === 1
          : b <= (bin[node] as number);
      node = (goLeft ? left[node] : right[node]) as number;
      f = feature[node] as number;
    }
    score[r] = (score[r] as number) + (value[node] as number);
    if (odds !== undefined) odds[r] = (odds[r] as number) * (factor[node] as number);
  }
}
