import type { FeatureMatrix } from '../feature-matrix.ts';
import { matrixClasses, regressionValues } from '../feature-matrix.ts';
import { transformLabel } from '../label-transform.ts';
import type { LabelTask, LabelTransform } from '../../../shared/data/feature-spec.ts';
import type { GbdtParams } from '../../../shared/trainers.ts';
import { TrainingDataError } from '../trainer.ts';

/**
 * What boosting minimises, per label kind. An objective owns one score array per output (one for
 * binary and regression, one per class for softmax), starts them at its base scores, and gives each
 * output's gradients and hessians for the tree grown on it next. Trees are grown round by round, one
 * per output, so a round of a K-class model is K trees.
 */

/**
 * Per output, every row's margin, and for an objective that `usesOdds` also its odds exp(margin).
 * Binary log loss reads a row's probability off its odds, so the trainer keeps them beside the
 * margins, multiplying a row's odds by exp(leaf value) where it adds the leaf value to its margin:
 * one Math.exp per leaf instead of one per row for the gradients and another for the loss (those
 * calls were 15% of training time on the flights).
 */
export interface Scores {
  margin: Float64Array[];
  odds: Float64Array[] | null;
}
export interface GbdtObjective {
  name: 'binary-log-loss' | 'squared-error' | 'huber' | 'softmax';
  /** float32 starting score per output. */
  baseScores: number[];
  /** Whether it reads `Scores.odds`. */
  usesOdds: boolean;
  /** Fills gradHess (2r, 2r + 1) for the sampled rows, for the tree of output `k`. */
  gradients(k: number, sample: Uint32Array, sampleSize: number, scores: Scores, gradHess: Float64Array): void;
  /** Sum of the losses of `scores` against the rows from, from + stride, ... below `to` of `which`. */
  lossSum(which: 'train' | 'validation', scores: Scores, from: number, to: number, stride: number): number;
  /** Bytes that identify the labels, for the checkpoint fingerprint. */
  labelBytes: Uint8Array[];
  /** Facts for the model summary. */
  summary: Record<string, unknown>;
}

const MIN_HESSIAN = 1e-16;

/**
 * The objective for a label task. Reads only the matrices' rows, labels and tasks, so tree-builder
 * helper threads build their own copy from those alone (ObjectiveInputs).
 */
export function gbdtObjective(train: FeatureMatrix, validation: FeatureMatrix, params: GbdtParams, output: LabelTask): GbdtObjective {
  switch (output.kind) {
    case 'binary':
      return binaryObjective(train, validation);
    case 'regression':
      return regressionObjective(train, validation, { loss: params.loss ?? 'squared', huberDelta: params.huberDelta, transform: output.transform });
    case 'multiclass':
      return softmaxObjective(train, validation);
  }
}

/** What gbdtObjective reads, without the feature columns: cheap to hand to another thread. */
export interface ObjectiveInputs {
  train: FeatureMatrix;
  validation: FeatureMatrix;
  params: GbdtParams;
  output: LabelTask;
}

export function objectiveInputs(train: FeatureMatrix, validation: FeatureMatrix, params: GbdtParams, output: LabelTask): ObjectiveInputs {
  const labelsOnly = ({ rows, label, task }: FeatureMatrix): FeatureMatrix => ({
    rows,
    label,
    ...(task ? { task } : {}),
    numeric: { names: [], columns: [] },
    categorical: { names: [], columns: [] },
  });
  return { train: labelsOnly(train), validation: labelsOnly(validation), params, output };
}

const bytesOf = (values: Float64Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

export function binaryObjective(train: FeatureMatrix, validation: FeatureMatrix): GbdtObjective {
  let positives = 0;
  for (let i = 0; i < train.rows; i++) positives += train.label[i] as number;
  if (positives === 0 || positives === train.rows) {
    throw new TrainingDataError(`Training labels are all ${positives === 0 ? 0 : 1}; a classifier needs both classes`);
  }
  const label = { train: train.label, validation: validation.label };
  return {
    name: 'binary-log-loss',
    baseScores: [Math.fround(Math.log(positives / (train.rows - positives)))],
    usesOdds: true,
    gradients(_k, sample, sampleSize, scores, gradHess) {
      const odds = oddsOf(scores);
      for (let i = 0; i < sampleSize; i++) {
        const r = sample[i] as number;
        const o = odds[r] as number;
        // p = o / (1 + o) and 1 - p = 1 / (1 + o), each without cancellation; odds that overflowed mean p = 1.
        const q = 1 / (1 + o);
        const p = o === Infinity ? 1 : o * q;
        gradHess[2 * r] = p - (train.label[r] as number);
        gradHess[2 * r + 1] = Math.max(p * q, MIN_HESSIAN);
      }
    },
    lossSum: (which, scores, from, to, stride) => oddsLogLossSum(scores.margin[0] as Float64Array, oddsOf(scores), label[which], from, to, stride),
    labelBytes: [train.label, validation.label],
    summary: {},
  };
}

function oddsOf(scores: Scores): Float64Array {
  const odds = scores.odds?.[0];
  if (odds === undefined) throw new Error('binary log loss reads the odds the trainer keeps');
  return odds;
}

/** Log loss (softplus(m) - y·m) summed, with softplus(m) = log1p(odds): one Math.log1p per row. */
function oddsLogLossSum(margin: Float64Array, odds: Float64Array, label: Uint8Array, from: number, to: number, stride: number): number {
  let sum = 0;
  for (let i = from; i < to; i += stride) {
    const m = margin[i] as number;
    const o = odds[i] as number;
    // Past exp's range (m > 709) softplus(m) is m to double precision.
    sum += (o < Infinity ? Math.log1p(o) : m) - (label[i] as number) * m;
  }
  return sum;
}

/** The q-quantile of values (sorted copy, lower interpolation point): deterministic and exact. */
function quantile(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] as number;
}

/**
 * Squared error, or Huber with threshold `delta` (squared within ±delta of the target, linear
 * beyond, so a few extreme delays do not pull every leaf). Huber's hessian is taken as 1 everywhere,
 * as LightGBM does, which makes each leaf the mean of its clipped residuals. Without a given delta,
 * Huber uses the 90th percentile of |y − median| on the training rows.
 */
export function regressionObjective(
  train: FeatureMatrix,
  validation: FeatureMatrix,
  options: { loss: 'squared' | 'huber'; huberDelta?: number | undefined; transform?: LabelTransform | undefined },
): GbdtObjective {
  const y = { train: transformLabel(regressionValues(train), options.transform), validation: transformLabel(regressionValues(validation), options.transform) };
  if (train.rows === 0) throw new TrainingDataError('Regression needs training rows');
  const huber = options.loss === 'huber';
  const median = quantile(y.train, 0.5);
  const delta = huber ? (options.huberDelta ?? Math.max(quantile(y.train.map((v) => Math.abs(v - median)), 0.9), 1e-12)) : Infinity;
  let mean = 0;
  for (const v of y.train) mean += v;
  mean /= train.rows;
  const target = y.train;
  return {
    name: huber ? 'huber' : 'squared-error',
    baseScores: [Math.fround(huber ? median : mean)],
    usesOdds: false,
    gradients(_k, sample, sampleSize, { margin: [score] }, gradHess) {
      const s = score as Float64Array;
      for (let i = 0; i < sampleSize; i++) {
        const r = sample[i] as number;
        const residual = (s[r] as number) - (target[r] as number);
        gradHess[2 * r] = huber ? Math.max(-delta, Math.min(delta, residual)) : residual;
        gradHess[2 * r + 1] = 1;
      }
    },
    lossSum(which, { margin: [score] }, from, to, stride) {
      const s = score as Float64Array;
      const t = y[which];
      let sum = 0;
      for (let r = from; r < to; r += stride) {
        const a = Math.abs((s[r] as number) - (t[r] as number));
        sum += a <= delta ? 0.5 * a * a : delta * (a - 0.5 * delta);
      }
      return sum;
    },
    labelBytes: [bytesOf(y.train), bytesOf(y.validation)],
    summary: huber ? { huberDelta: delta } : {},
  };
}

/**
 * Softmax cross-entropy over K classes: one score per class, p = softmax(scores), gradient p_k − [y = k],
 * hessian p_k(1 − p_k). Base scores are the log of the training class shares (add-one smoothed, so a
 * class absent from training does not start at −∞).
 */
export function softmaxObjective(train: FeatureMatrix, validation: FeatureMatrix): GbdtObjective {
  const classes = matrixClasses(train);
  const k = classes.length;
  const counts = new Float64Array(k);
  for (let i = 0; i < train.rows; i++) counts[train.label[i] as number]! += 1;
  const present = counts.filter((c) => c > 0).length;
  if (present < 2) throw new TrainingDataError(`Training labels hold ${present} of the ${k} classes; a classifier needs at least two`);
  const label = { train: train.label, validation: validation.label };
  const probabilities = new Float64Array(k);
  const softmaxRow = (scores: readonly Float64Array[], r: number) => {
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, (scores[c] as Float64Array)[r] as number);
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp(((scores[c] as Float64Array)[r] as number) - max);
      probabilities[c] = e;
      sum += e;
    }
    for (let c = 0; c < k; c++) probabilities[c] = (probabilities[c] as number) / sum;
  };
  return {
    name: 'softmax',
    baseScores: Array.from(counts, (c) => Math.fround(Math.log((c + 1) / (train.rows + k)))),
    usesOdds: false,
    gradients(output, sample, sampleSize, { margin: scores }, gradHess) {
      for (let i = 0; i < sampleSize; i++) {
        const r = sample[i] as number;
        softmaxRow(scores, r);
        const p = probabilities[output] as number;
        gradHess[2 * r] = p - ((train.label[r] as number) === output ? 1 : 0);
        gradHess[2 * r + 1] = Math.max(p * (1 - p), MIN_HESSIAN);
      }
    },
    lossSum(which, { margin: scores }, from, to, stride) {
      const labels = label[which];
      let sum = 0;
      for (let r = from; r < to; r += stride) {
        softmaxRow(scores, r);
        sum -= Math.log(Math.max(probabilities[labels[r] as number] as number, 1e-15));
      }
      return sum;
    },
    labelBytes: [train.label, validation.label],
    summary: { classCounts: Object.fromEntries(classes.map((name, c) => [name, counts[c] as number])) },
  };
}
