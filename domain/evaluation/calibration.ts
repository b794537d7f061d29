import type { CalibrationCheck, CalibrationMap, ReliabilityBin } from '../../shared/model-diagnostics.ts';
import { expectedCalibrationError } from './metrics.ts';

/**
 * Calibration of a binary model's scores on a held-out split: reliability bins, isotonic regression
 * (pool adjacent violators) as the calibration map, and the check that decides whether the model
 * needs the map. Performance estimation from scores (CBPE) assumes calibrated probabilities, so the
 * monitor applies the recorded map before estimating.
 */

const RELIABILITY_BINS = 10;

/** Equal-width bins over [0, 1] (the same bins as `expectedCalibrationError`): mean score against positive rate. */
export function reliabilityBins(labels: ArrayLike<number>, scores: ArrayLike<number>, bins = RELIABILITY_BINS): ReliabilityBin[] {
  const rows = new Float64Array(bins);
  const sumScore = new Float64Array(bins);
  const sumLabel = new Float64Array(bins);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(s * bins)));
    rows[b] = (rows[b] as number) + 1;
    sumScore[b] = (sumScore[b] as number) + s;
    sumLabel[b] = (sumLabel[b] as number) + (labels[i] as number);
  }
  return Array.from({ length: bins }, (_, b) => {
    const n = rows[b] as number;
    return { from: b / bins, to: (b + 1) / bins, rows: n, meanScore: n ? (sumScore[b] as number) / n : null, positiveRate: n ? (sumLabel[b] as number) / n : null };
  });
}

/**
 * Isotonic regression of labels on scores by pool adjacent violators: tied scores form one point,
 * then neighbouring blocks whose positive rates fall as the score rises are merged until the rates
 * never fall. Each block keeps its weighted mean score as the knot the map interpolates between.
 */
export function fitIsotonic(labels: ArrayLike<number>, scores: ArrayLike<number>): CalibrationMap {
  const order = Uint32Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  const x: number[] = [];
  const y: number[] = [];
  const w: number[] = [];
  for (let k = 0; k < order.length; ) {
    const s = scores[order[k] as number] as number;
    let positives = 0;
    let n = 0;
    while (k < order.length && scores[order[k] as number] === s) {
      positives += labels[order[k] as number] as number;
      n++;
      k++;
    }
    x.push(s * n);
    y.push(positives);
    w.push(n);
    // Merge while the block before has a rate as high (equal rates make one knot, not two): compare sums cross-multiplied to stay exact.
    while (y.length > 1) {
      const last = y.length - 1;
      if ((y[last - 1] as number) * (w[last] as number) < (y[last] as number) * (w[last - 1] as number)) break;
      x[last - 1] = (x[last - 1] as number) + (x.pop() as number);
      y[last - 1] = (y[last - 1] as number) + (y.pop() as number);
      w[last - 1] = (w[last - 1] as number) + (w.pop() as number);
    }
  }
  return { method: 'isotonic', scores: x.map((sum, i) => sum / (w[i] as number)), probabilities: y.map((sum, i) => sum / (w[i] as number)) };
}

/** The calibrated probability of one raw score under a map. */
export function calibrate(map: CalibrationMap, score: number): number {
  const xs = map.scores;
  const ps = map.probabilities;
  const last = xs.length - 1;
  if (score <= (xs[0] as number)) return ps[0] as number;
  if (score >= (xs[last] as number)) return ps[last] as number;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) <= score) lo = mid;
    else hi = mid;
  }
  const x0 = xs[lo] as number;
  const x1 = xs[hi] as number;
  const t = (score - x0) / (x1 - x0);
  return (ps[lo] as number) + t * ((ps[hi] as number) - (ps[lo] as number));
}

function calibrateAll(map: CalibrationMap, scores: ArrayLike<number>, rows: readonly number[], into: Float64Array): void {
  for (const r of rows) into[r] = calibrate(map, scores[r] as number);
}

/**
 * The calibration error that sampling noise alone gives perfectly calibrated scores of these values:
 * in each bin the observed rate scatters around the mean score with standard deviation
 * sqrt(Σ p(1 − p)) / n, whose mean absolute value is sqrt(2/π) times that. A raw error within a
 * small multiple of this floor is no evidence of miscalibration.
 */
export function calibrationNoiseFloor(scores: ArrayLike<number>, bins = RELIABILITY_BINS): number {
  const rows = new Float64Array(bins);
  const variance = new Float64Array(bins);
  for (let i = 0; i < scores.length; i++) {
    const p = scores[i] as number;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    rows[b] = (rows[b] as number) + 1;
    variance[b] = (variance[b] as number) + p * (1 - p);
  }
  let floor = 0;
  for (let b = 0; b < bins; b++) {
    const n = rows[b] as number;
    if (n > 0) floor += (n / scores.length) * Math.sqrt((2 / Math.PI) * (variance[b] as number)) / n;
  }
  return floor;
}

/** A raw error beyond this many noise floors is miscalibration, not chance (about 2 standard deviations of the per-bin gaps). */
const MISCALIBRATION_FLOORS = 2;

/**
 * Whether a model's scores need a calibration map, in the spirit of NannyML's CBPE (calibrate when
 * calibrating helps on data the map did not see), with a guard against chance: the split is halved
 * (alternate rows), each half is calibrated by a map fitted on the other, and the map fitted on the
 * whole split is recorded when the raw error exceeds twice its noise floor and the cross-fitted
 * error is below it. A well-calibrated model's raw error is noise, which a map does not remove
 * (it adds its own), so such a model keeps its raw scores.
 */
export function checkCalibration(labels: ArrayLike<number>, scores: ArrayLike<number>, split: string): CalibrationCheck {
  const even: number[] = [];
  const odd: number[] = [];
  for (let i = 0; i < scores.length; i++) (i % 2 ? odd : even).push(i);
  const raw = expectedCalibrationError(labels, scores);
  const noiseFloor = calibrationNoiseFloor(scores);
  const bins = reliabilityBins(labels, scores);
  if (odd.length === 0) return { split, rows: scores.length, expectedCalibrationError: raw, noiseFloor, crossFittedCalibratedError: raw, bins, map: null };
  const crossFitted = new Float64Array(scores.length);
  for (const [fitOn, applyTo] of [[even, odd], [odd, even]] as const) {
    const map = fitIsotonic(
      fitOn.map((r) => labels[r] as number),
      fitOn.map((r) => scores[r] as number),
    );
    calibrateAll(map, scores, applyTo, crossFitted);
  }
  const calibrated = expectedCalibrationError(labels, crossFitted);
  const needsMap = raw > MISCALIBRATION_FLOORS * noiseFloor && calibrated < raw;
  return { split, rows: scores.length, expectedCalibrationError: raw, noiseFloor, crossFittedCalibratedError: calibrated, bins, map: needsMap ? fitIsotonic(labels, scores) : null };
}
