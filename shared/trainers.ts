import { z } from 'zod';

/**
 * Hyperparameters of every trainer sluice ships, as one discriminated union on `kind`. The pipeline
 * spec embeds `trainerSpecSchema`, so a spec names a trainer and overrides only what it cares about;
 * every default here is chosen to be a sound first model on a few million tabular rows.
 */

const positiveInt = z.number().int().positive();
const fraction = z.number().gt(0).max(1);

export const logisticRegressionParamsSchema = z.strictObject({
  kind: z.literal('logistic-regression'),
  /** Penalty on the mean log loss: objective = mean loss + l2/2 · ‖w‖² (intercept unpenalised). */
  l2: z.number().nonnegative().default(1e-4),
  maxIterations: positiveInt.max(500).default(50),
  /** Newton stops once a step lowers the objective by less than this, relative to the objective. */
  tolerance: z.number().positive().default(1e-10),
  /** A category gets its own one-hot column only with at least this many training rows... */
  minCategoryCount: positiveInt.default(50),
  /** ...and only if it is among this many most frequent; the rest share an "other/missing" column. */
  maxCategoriesPerFeature: positiveInt.max(10_000).default(250),
});

/** Ridge regression for a regression label: least squares + l2/2 · ‖w‖², solved exactly (one Cholesky solve). */
export const linearRegressionParamsSchema = z.strictObject({
  kind: z.literal('linear-regression'),
  /** Penalty on the mean half squared error: objective = mean (y − ŷ)²/2 + l2/2 · ‖w‖² (intercept unpenalised); features are standardised first. */
  l2: z.number().nonnegative().default(1e-4),
  minCategoryCount: positiveInt.default(50),
  maxCategoriesPerFeature: positiveInt.max(10_000).default(250),
});

export const gbdtParamsSchema = z.strictObject({
  kind: z.literal('gbdt'),
  learningRate: fraction.default(0.1),
  nTrees: positiveInt.max(10_000).default(200),
  maxDepth: positiveInt.max(32).default(8),
  maxLeaves: z.number().int().min(2).max(4096).default(63),
  minSamplesLeaf: positiveInt.default(100),
  /** Minimum sum of hessians p(1-p) in a leaf: stops leaves that are all but pure. */
  minHessianLeaf: z.number().nonnegative().default(1e-3),
  l2: z.number().nonnegative().default(1),
  minSplitGain: z.number().nonnegative().default(0),
  /** Fraction of training rows drawn (without replacement, per row) for each tree. */
  subsample: fraction.default(0.8),
  /** Fraction of features each tree may split on. */
  colsample: fraction.default(1),
  /** Bins per feature besides the one reserved for missing values; uint8 storage caps it at 255. */
  maxBins: z.number().int().min(2).max(255).default(255),
  /**
   * Threads building each tree (helper threads take shares of the row sample, gradients, histograms,
   * partitions, score updates and losses). The trees are the same bit for bit on any number; by
   * default one plus one per 2 M cells, at most one per core and 4 (gbdt-trainer.ts).
   */
  threads: positiveInt.max(64).optional(),
  /** Stop after this many trees without a lower validation loss and keep the best; 0 disables. */
  earlyStoppingRounds: z.number().int().nonnegative().default(20),
  /**
   * Categorical splits: pseudo-count added to a category's hessian sum when a node orders its
   * categories by gradient ratio, and the fewest rows of the node a category needs to be placed by
   * that order (LightGBM's cat_smooth). LightGBM's default of 10 overfits smaller data: on 10% of the
   * 2001 flights with raw airports, test AUC 0.666 against 0.670 at 50 (LightGBM itself: 0.669 and
   * 0.672); on the 1.98 M-row flights tables 50 and 10 are within 0.0001.
   */
  categoricalSmoothing: z.number().nonnegative().default(50),
  /**
   * Regression only: `squared` error (the default) or `huber`, squared within ±huberDelta of the
   * target and linear beyond. Left out of binary and multiclass specs (log loss and softmax).
   */
  loss: z.enum(['squared', 'huber']).optional(),
  /** Huber's threshold in (transformed) label units; by default the 90th percentile of |y − median| on the training rows. */
  huberDelta: z.number().positive().optional(),
});

export const trainerSpecSchema = z.discriminatedUnion('kind', [logisticRegressionParamsSchema, linearRegressionParamsSchema, gbdtParamsSchema]);

/**
 * A trainer you bring: any Temporal worker (any SDK language) polling `taskQueue` with an activity
 * named `trainCandidate` that honours the contract in the README ("Bring your own trainer"): it reads
 * the feature Parquet splits, writes an ONNX model keeping the sluice graph contract, and returns
 * where it put it. Evaluation, gates, registry and approval treat its model like a built-in one.
 */
export const externalTrainerSchema = z.strictObject({
  kind: z.literal('external'),
  /** Shown in the Temporal UI and recorded in the manifest, e.g. `xgboost-python`. */
  name: z.string().min(1),
  taskQueue: z.string().min(1),
  /** Passed through untouched to the external activity; recorded in the manifest. */
  hyperparameters: z.record(z.string(), z.unknown()).default({}),
});
export type ExternalTrainerSpec = z.infer<typeof externalTrainerSchema>;

/** The task queue the shipped LightGBM worker (`npm run worker:lightgbm`) polls unless told otherwise. */
export const LIGHTGBM_TASK_QUEUE = 'sluice-lightgbm';

/**
 * `{"kind": "lightgbm", ...}` is shorthand for the shipped LightGBM worker (`trainers/lightgbm/`): it
 * parses to the external trainer it is, so nothing downstream knows a fourth kind, and its settings
 * are checked here, before a run starts. Left-out settings take the worker's defaults (its README).
 */
export const lightgbmShorthandSchema = z
  .strictObject({
    kind: z.literal('lightgbm'),
    taskQueue: z.string().min(1).default(LIGHTGBM_TASK_QUEUE),
    numTrees: positiveInt.max(10_000).optional(),
    learningRate: fraction.optional(),
    numLeaves: z.number().int().min(2).max(131_072).optional(),
    /** -1: no limit. */
    maxDepth: z.number().int().min(-1).max(64).optional(),
    minDataInLeaf: positiveInt.optional(),
    lambdaL2: z.number().nonnegative().optional(),
    baggingFraction: fraction.optional(),
    featureFraction: fraction.optional(),
    maxBin: z.number().int().min(2).max(65_535).optional(),
    earlyStoppingRounds: z.number().int().nonnegative().optional(),
    numThreads: positiveInt.max(256).optional(),
  })
  .transform(({ kind: _kind, taskQueue, ...hyperparameters }) => ({ kind: 'external' as const, name: 'lightgbm', taskQueue, hyperparameters }));

/** What a pipeline spec may name as its trainer: a built-in one or one you bring. */
export const pipelineTrainerSchema = z.discriminatedUnion('kind', [logisticRegressionParamsSchema, linearRegressionParamsSchema, gbdtParamsSchema, externalTrainerSchema, lightgbmShorthandSchema]);
export type PipelineTrainerSpec = z.infer<typeof pipelineTrainerSchema>;

export type LogisticRegressionParams = z.infer<typeof logisticRegressionParamsSchema>;
export type GbdtParams = z.infer<typeof gbdtParamsSchema>;
export type LinearRegressionParams = z.infer<typeof linearRegressionParamsSchema>;
export type TrainerSpec = z.infer<typeof trainerSpecSchema>;
export type TrainerKind = TrainerSpec['kind'];

/**
 * What an exported ONNX model says about itself in `metadata_props` besides its feature names and
 * trainer: the registry's name and version for it, the hashes it was built from, and the decision
 * threshold when evaluation chose one.
 */
export const onnxMetadataSchema = z.strictObject({
  modelName: z.string().min(1),
  modelVersion: z.number().int().nonnegative(),
  lineage: z.record(z.string(), z.string()),
  threshold: z.number().min(0).max(1).optional(),
});
export type OnnxMetadata = z.infer<typeof onnxMetadataSchema>;
