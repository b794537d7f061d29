import type { BinaryCurves, PrPoint, RegressionCurves, RocPoint, ScoreHistogram } from '../../shared/evaluation-report.ts';
import { reliabilityBins } from './calibration.ts';
import { MetricInputError } from './metrics.ts';

/**
 * The points an evaluation report stores for its charts, computed once on the whole test split so
 * the console reads a few hundred numbers instead of rescoring half a million rows. Curves walk tie
 * groups as `rocAuc` and `averagePrecision` do, so a curve's vertices are the metric's own.
 */

/** Vertices kept per curve: enough that the drawn area is the metric within ~0.002, small enough for a report. */
export const CURVE_POINTS = 300;
const HISTOGRAM_BINS = 40;
const REGRESSION_SAMPLE = 400;

/** Every distinct score from the top with the cumulative true and false positives at or above it. */
function thresholdWalk(labels: ArrayLike<number>, scores: ArrayLike<number>): { threshold: number; tp: number; fp: number }[] {
  const order = Uint32Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const out: { threshold: number; tp: number; fp: number }[] = [];
  let tp = 0;
  let fp = 0;
  for (let start = 0; start < order.length; ) {
    const threshold = scores[order[start] as number] as number;
    let end = start;
    while (end < order.length && scores[order[end] as number] === threshold) {
      if (labels[order[end] as number] === 1) tp++;
      else fp++;
      end++;
    }
    out.push({ threshold, tp, fp });
    start = end;
  }
  return out;
}

/**
 * Keeps a vertex once the curve has moved `step` (L1) since the last one kept, and always the first
 * and last: a monotone curve of L1 length ≤ 2 keeps at most ~2/step vertices, and the chords that
 * replace the dropped ones change the trapezoid area by at most ~step/2 in all.
 */
function thin<T>(points: readonly T[], distance: (a: T, b: T) => number, step: number): T[] {
  if (points.length <= 2) return [...points];
  const kept = [points[0] as T];
  for (let i = 1; i < points.length - 1; i++) {
    if (distance(kept[kept.length - 1] as T, points[i] as T) >= step) kept.push(points[i] as T);
  }
  kept.push(points[points.length - 1] as T);
  return kept;
}

/** The ROC curve from (0, 0) to (1, 1), at most about `maxPoints` vertices. */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>, maxPoints = CURVE_POINTS): RocPoint[] {
  const walk = thresholdWalk(labels, scores);
  const positives = walk.at(-1)?.tp ?? 0;
  const negatives = walk.at(-1)?.fp ?? 0;
  if (positives === 0 || negatives === 0) throw new MetricInputError(`a ROC curve needs both classes; got ${positives} positive and ${negatives} negative rows`);
  const full: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Infinity }, ...walk.map((w) => ({ fpr: w.fp / negatives, tpr: w.tp / positives, threshold: w.threshold }))];
  // Infinity is not JSON: the first vertex's threshold is "above every score".
  const top = (walk[0]?.threshold ?? 1) + 1;
  return thin(full, (a, b) => Math.abs(b.fpr - a.fpr) + Math.abs(b.tpr - a.tpr), 2 / maxPoints).map((p) => (p.threshold === Infinity ? { ...p, threshold: top } : p));
}

/** The precision–recall curve from the top score down, at most about `maxPoints` vertices (kept by recall, which only grows). */
export function prCurve(labels: ArrayLike<number>, scores: ArrayLike<number>, maxPoints = CURVE_POINTS): PrPoint[] {
  const walk = thresholdWalk(labels, scores);
  const positives = walk.at(-1)?.tp ?? 0;
  if (positives === 0) throw new MetricInputError('a precision–recall curve needs at least one positive row');
  const full = walk.map((w) => ({ recall: w.tp / positives, precision: w.tp / (w.tp + w.fp), threshold: w.threshold }));
  return thin(full, (a, b) => b.recall - a.recall, 1 / maxPoints);
}

/** Scores in `bins` equal-width bins over [0, 1], counted separately for positive and negative rows. */
export function scoreHistogram(labels: ArrayLike<number>, scores: ArrayLike<number>, bins = HISTOGRAM_BINS): ScoreHistogram {
  const positives = new Array<number>(bins).fill(0);
  const negatives = new Array<number>(bins).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((scores[i] as number) * bins)));
    const counts = labels[i] === 1 ? positives : negatives;
    counts[b] = (counts[b] as number) + 1;
  }
  return { edges: Array.from({ length: bins + 1 }, (_, b) => b / bins), positives, negatives };
}

/** Everything a binary model's evaluation page draws. */
export function binaryCurves(labels: ArrayLike<number>, scores: ArrayLike<number>): BinaryCurves {
  return { kind: 'binary', roc: rocCurve(labels, scores), pr: prCurve(labels, scores), reliability: reliabilityBins(labels, scores), scoreHistogram: scoreHistogram(labels, scores) };
}

/** A systematic sample (every k-th row) of predicted against actual values: unbiased for a split in no particular order, and the same every run. */
export function regressionCurves(actual: ArrayLike<number>, predicted: ArrayLike<number>, size = REGRESSION_SAMPLE): RegressionCurves {
  const rows = actual.length;
  if (rows === 0 || rows !== predicted.length) throw new MetricInputError(`${rows} labels but ${predicted.length} predictions`);
  const stride = Math.max(1, rows / size);
  const sample: RegressionCurves['sample'] = [];
  for (let i = 0; Math.floor(i) < rows && sample.length < size; i += stride) {
    const row = Math.floor(i);
    sample.push({ predicted: predicted[row] as number, actual: actual[row] as number });
  }
  return { kind: 'regression', rows, sample };
}
