import { MetricInputError, rocAuc } from './metrics.ts';

/**
 * Metrics of regression and multiclass models, pure functions of labels and predictions, as
 * `metrics.ts` is for binary ones. What a report records; the gate-facing numbers are named in
 * `GATE_METRICS_BY_KIND` (shared/gates.ts).
 */

const LOG_LOSS_EPSILON = 1e-15;
const RESIDUAL_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95] as const;
const CALIBRATION_BINS = 10;

export interface RegressionMetrics {
  rows: number;
  labelMean: number;
  rmse: number;
  mae: number;
  /** 1 − SSE / SST: the share of the label's variance explained (≤ 1; below 0 is worse than the mean). */
  r2: number;
  /** MAE / mean |label|: an error free of the label's scale (null when every label is 0). */
  maeOverMean: number | null;
  /** Quantiles of prediction − label. */
  residualQuantiles: { q: number; residual: number }[];
  /** Rows binned by predicted-value decile: mean prediction against mean label in each. */
  calibrationByDecile: { rows: number; meanPrediction: number; meanLabel: number }[];
}

function quantileSorted(sorted: Float64Array, q: number): number {
  const position = q * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(sorted.length - 1, lower + 1);
  return (sorted[lower] as number) + (position - lower) * ((sorted[upper] as number) - (sorted[lower] as number));
}

export function regressionMetrics(labels: ArrayLike<number>, predictions: ArrayLike<number>): RegressionMetrics {
  const n = labels.length;
  if (n !== predictions.length) throw new MetricInputError(`${n} labels but ${predictions.length} predictions`);
  if (n === 0) throw new MetricInputError('No rows to score');
  let sum = 0;
  let sumAbsLabel = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    const p = predictions[i] as number;
    if (!Number.isFinite(y) || !Number.isFinite(p)) throw new MetricInputError(`Row ${i} has label ${y} and prediction ${p}; both must be finite`);
    sum += y;
    sumAbsLabel += Math.abs(y);
  }
  const mean = sum / n;
  let sse = 0;
  let sst = 0;
  let sae = 0;
  const residuals = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = (predictions[i] as number) - (labels[i] as number);
    residuals[i] = r;
    sse += r * r;
    sae += Math.abs(r);
    sst += ((labels[i] as number) - mean) ** 2;
  }
  residuals.sort();
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => (predictions[a] as number) - (predictions[b] as number) || a - b);
  const calibrationByDecile: RegressionMetrics['calibrationByDecile'] = [];
  for (let b = 0; b < CALIBRATION_BINS; b++) {
    const start = Math.floor((b * n) / CALIBRATION_BINS);
    const end = Math.floor(((b + 1) * n) / CALIBRATION_BINS);
    if (end <= start) continue;
    let sp = 0;
    let sy = 0;
    for (let i = start; i < end; i++) {
      sp += predictions[order[i] as number] as number;
      sy += labels[order[i] as number] as number;
    }
    calibrationByDecile.push({ rows: end - start, meanPrediction: sp / (end - start), meanLabel: sy / (end - start) });
  }
  return {
    rows: n,
    labelMean: mean,
    rmse: Math.sqrt(sse / n),
    mae: sae / n,
    r2: sst > 0 ? 1 - sse / sst : sse === 0 ? 1 : 0,
    maeOverMean: sumAbsLabel > 0 ? sae / sumAbsLabel : null,
    residualQuantiles: RESIDUAL_QUANTILES.map((q) => ({ q, residual: quantileSorted(residuals, q) })),
    calibrationByDecile,
  };
}

export interface MulticlassMetrics {
  rows: number;
  classes: string[];
  logLoss: number;
  accuracy: number;
  macroF1: number;
  /** Mean of the one-vs-rest AUCs over classes that have both positive and negative rows. */
  macroAuc: number | null;
  perClass: { class: string; rows: number; precision: number; recall: number; f1: number; rocAuc: number | null }[];
  /** confusion[actual][predicted] row counts, in `classes` order. */
  confusion: number[][];
}

/**
 * `probabilities` is row-major [N, K]; the predicted class is the most probable (the first on a tie).
 * Precision of a class never predicted, and recall of a class absent from the labels, are 0.
 */
export function multiclassMetrics(labels: ArrayLike<number>, probabilities: ArrayLike<number>, classes: readonly string[]): MulticlassMetrics {
  const n = labels.length;
  const k = classes.length;
  if (probabilities.length !== n * k) throw new MetricInputError(`${n} labels of ${k} classes but ${probabilities.length} probabilities`);
  if (n === 0) throw new MetricInputError('No rows to score');
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    if (!Number.isInteger(y) || y < 0 || y >= k) throw new MetricInputError(`Label at row ${i} is ${y}; expected a class index below ${k}`);
    let best = 0;
    for (let c = 0; c < k; c++) {
      const p = probabilities[i * k + c] as number;
      if (!Number.isFinite(p) || p < 0 || p > 1) throw new MetricInputError(`Probability at row ${i}, class ${c} is ${p}`);
      if (p > (probabilities[i * k + best] as number)) best = c;
    }
    loss -= Math.log(Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, probabilities[i * k + y] as number)));
    (confusion[y] as number[])[best]! += 1;
    if (best === y) correct++;
  }
  const perClass = classes.map((name, c) => {
    const truePositives = (confusion[c] as number[])[c] as number;
    const actual = (confusion[c] as number[]).reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + (row[c] as number), 0);
    const precision = predicted > 0 ? truePositives / predicted : 0;
    const recall = actual > 0 ? truePositives / actual : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    const isClass = Uint8Array.from({ length: n }, (_, i) => (labels[i] === c ? 1 : 0));
    const score = Float64Array.from({ length: n }, (_, i) => probabilities[i * k + c] as number);
    return { class: name, rows: actual, precision, recall, f1, rocAuc: actual > 0 && actual < n ? rocAuc(isClass, score) : null };
  });
  const aucs = perClass.flatMap((c) => (c.rocAuc === null ? [] : [c.rocAuc]));
  return {
    rows: n,
    classes: [...classes],
    logLoss: loss / n,
    accuracy: correct / n,
    macroF1: perClass.reduce((a, c) => a + c.f1, 0) / k,
    macroAuc: aucs.length ? aucs.reduce((a, b) => a + b, 0) / aucs.length : null,
    perClass,
    confusion,
  };
}
