import { z } from 'zod';
import { SluiceError } from '../../shared/errors.ts';

/**
 * Binary classification metrics, pure functions of labels (0/1) and scores. Ties are handled
 * exactly: tied scores form one threshold, never an arbitrary order, so a metric does not depend on
 * how rows happen to be sorted.
 */

export const thresholdMetricsSchema = z.strictObject({
  threshold: z.number(),
  truePositives: z.number().int().nonnegative(),
  falsePositives: z.number().int().nonnegative(),
  trueNegatives: z.number().int().nonnegative(),
  falseNegatives: z.number().int().nonnegative(),
  /** 0 when nothing is predicted positive. */
  precision: z.number().min(0).max(1),
  /** 0 when there are no positive rows. */
  recall: z.number().min(0).max(1),
  /** 0 when precision and recall are both 0. */
  f1: z.number().min(0).max(1),
});
export type ThresholdMetrics = z.infer<typeof thresholdMetricsSchema>;

/** What an evaluation report records per split; stored in manifests, hence a schema. */
export const classificationMetricsSchema = z.strictObject({
  rows: z.number().int().positive(),
  positiveRate: z.number().min(0).max(1),
  rocAuc: z.number().min(0).max(1),
  averagePrecision: z.number().min(0).max(1),
  logLoss: z.number().nonnegative(),
  brierScore: z.number().min(0).max(1),
  expectedCalibrationError: z.number().min(0).max(1),
  atThreshold: thresholdMetricsSchema,
});

export type ClassificationMetrics = z.infer<typeof classificationMetricsSchema>;

export class MetricInputError extends SluiceError {
  override readonly name = 'MetricInputError';
  readonly kind = 'Internal';
}

type Labels = ArrayLike<number>;
type Scores = ArrayLike<number>;

const LOG_LOSS_EPSILON = 1e-15;
const CALIBRATION_BINS = 10;

function checkInputs(labels: Labels, scores: Scores, probabilities: boolean): { positives: number; negatives: number } {
  if (labels.length !== scores.length) throw new MetricInputError(`${labels.length} labels but ${scores.length} scores`);
  if (labels.length === 0) throw new MetricInputError('No rows to score');
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new MetricInputError(`Label at row ${i} is ${y}; expected 0 or 1`);
    positives += y;
    const s = scores[i] as number;
    if (!Number.isFinite(s) || (probabilities && (s < 0 || s > 1))) {
      throw new MetricInputError(`Score at row ${i} is ${s}; expected ${probabilities ? 'a probability in [0, 1]' : 'a finite number'}`);
    }
  }
  return { positives, negatives: labels.length - positives };
}

function requireBothClasses(positives: number, negatives: number, metric: string): void {
  if (positives === 0 || negatives === 0) {
    throw new MetricInputError(`${metric} needs both classes; got ${positives} positive and ${negatives} negative rows`);
  }
}

/** Row indices by descending score. */
function descendingOrder(scores: Scores): Uint32Array {
  const order = Uint32Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => (scores[b] as number) - (scores[a] as number));
}

/**
 * Area under the ROC curve: the probability that a random positive outscores a random negative,
 * counting ties as half (the Mann–Whitney U statistic over P · N pairs).
 */
export function rocAuc(labels: Labels, scores: Scores): number {
  const { positives, negatives } = checkInputs(labels, scores, false);
  requireBothClasses(positives, negatives, 'ROC AUC');
  const order = descendingOrder(scores);
  // Walk tie groups from the top: each positive beats the negatives below its group, ties count half.
  let negativesBelow = negatives;
  let wins = 0;
  for (let start = 0; start < order.length; ) {
    const score = scores[order[start] as number] as number;
    let end = start;
    let groupPositives = 0;
    while (end < order.length && scores[order[end] as number] === score) {
      groupPositives += labels[order[end] as number] as number;
      end++;
    }
    const groupNegatives = end - start - groupPositives;
    negativesBelow -= groupNegatives;
    wins += groupPositives * (negativesBelow + groupNegatives / 2);
    start = end;
  }
  return wins / (positives * negatives);
}

/**
 * Average precision, the step-wise area under the precision–recall curve: Σ (R_k − R_{k−1}) · P_k
 * over the distinct score thresholds from the top (as scikit-learn defines it).
 */
export function averagePrecision(labels: Labels, scores: Scores): number {
  const { positives } = checkInputs(labels, scores, false);
  if (positives === 0) throw new MetricInputError('Average precision needs at least one positive row');
  const order = descendingOrder(scores);
  let truePositives = 0;
  let predicted = 0;
  let previousRecall = 0;
  let area = 0;
  for (let start = 0; start < order.length; ) {
    const score = scores[order[start] as number] as number;
    let end = start;
    while (end < order.length && scores[order[end] as number] === score) {
      truePositives += labels[order[end] as number] as number;
      end++;
    }
    predicted += end - start;
    const recall = truePositives / positives;
    area += (recall - previousRecall) * (truePositives / predicted);
    previousRecall = recall;
    start = end;
  }
  return area;
}

/** Mean negative log-likelihood, with probabilities clipped to [1e-15, 1 − 1e-15] so it stays finite. */
export function logLoss(labels: Labels, probabilities: Scores): number {
  checkInputs(labels, probabilities, true);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, probabilities[i] as number));
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}

/** Mean squared difference between probability and outcome. */
export function brierScore(labels: Labels, probabilities: Scores): number {
  checkInputs(labels, probabilities, true);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += ((probabilities[i] as number) - (labels[i] as number)) ** 2;
  return sum / labels.length;
}

/**
 * Expected calibration error over equal-width probability bins [0, 0.1), …, [0.9, 1.0]: the
 * row-weighted mean gap between a bin's mean predicted probability and its observed positive rate.
 */
export function expectedCalibrationError(labels: Labels, probabilities: Scores, bins = CALIBRATION_BINS): number {
  checkInputs(labels, probabilities, true);
  const count = new Float64Array(bins);
  const sumProbability = new Float64Array(bins);
  const sumLabel = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i] as number;
    const bin = Math.min(bins - 1, Math.floor(p * bins));
    count[bin] = (count[bin] as number) + 1;
    sumProbability[bin] = (sumProbability[bin] as number) + p;
    sumLabel[bin] = (sumLabel[bin] as number) + (labels[i] as number);
  }
  let error = 0;
  for (let b = 0; b < bins; b++) {
    const n = count[b] as number;
    if (n > 0) error += (n / labels.length) * Math.abs((sumProbability[b] as number) / n - (sumLabel[b] as number) / n);
  }
  return error;
}

/** Confusion counts and precision/recall/F1 when rows scoring ≥ threshold are predicted positive. */
export function metricsAtThreshold(labels: Labels, probabilities: Scores, threshold: number): ThresholdMetrics {
  checkInputs(labels, probabilities, true);
  let truePositives = 0;
  let falsePositives = 0;
  let falseNegatives = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = (probabilities[i] as number) >= threshold;
    const actual = labels[i] === 1;
    if (predicted && actual) truePositives++;
    else if (predicted) falsePositives++;
    else if (actual) falseNegatives++;
  }
  const trueNegatives = labels.length - truePositives - falsePositives - falseNegatives;
  const precision = truePositives + falsePositives > 0 ? truePositives / (truePositives + falsePositives) : 0;
  const recall = truePositives + falseNegatives > 0 ? truePositives / (truePositives + falseNegatives) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { threshold, truePositives, falsePositives, trueNegatives, falseNegatives, precision, recall, f1 };
}

/** Every metric above for one set of predictions: what an evaluation report records per split. */
export function classificationMetrics(labels: Labels, probabilities: Scores, threshold = 0.5): ClassificationMetrics {
  const { positives } = checkInputs(labels, probabilities, true);
  return {
    rows: labels.length,
    positiveRate: positives / labels.length,
    rocAuc: rocAuc(labels, probabilities),
    averagePrecision: averagePrecision(labels, probabilities),
    logLoss: logLoss(labels, probabilities),
    brierScore: brierScore(labels, probabilities),
    expectedCalibrationError: expectedCalibrationError(labels, probabilities),
    atThreshold: metricsAtThreshold(labels, probabilities, threshold),
  };
}
