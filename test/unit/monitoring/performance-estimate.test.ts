import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { calibrate, checkCalibration, fitIsotonic } from '../../../domain/evaluation/calibration.ts';
import { expectedCalibrationError, metricsAtThreshold, rocAuc } from '../../../domain/evaluation/metrics.ts';
import { estimatePerformance, type ScoreCount } from '../../../domain/monitoring/performance-estimate.ts';
import { Prng } from '../../../domain/training/prng.ts';
import { performanceEstimateSchema } from '../../../shared/monitoring.ts';

/**
 * CBPE on synthetic models whose truth is known: scores p drawn from a logistic of a normal, labels
 * drawn as Bernoulli(p), so the scores are calibrated by construction. The realized AUC of such a
 * sample scatters around the population AUC with the Hanley–McNeil standard error, and the estimate
 * (an expectation given the scores) can only be held to that scatter: the tolerance is 3 standard
 * errors of the realized AUC (about 0.012 at 20 000 rows, AUC 0.78, 27% positives), which a correct
 * estimator misses about once in 400 samples and a biased one (uncalibrated scores) misses widely.
 */

const ROWS = 20_000;

function normal(prng: Prng): number {
  return Math.sqrt(-2 * Math.log(Math.max(prng.next(), 1e-12))) * Math.cos(2 * Math.PI * prng.next());
}

/** Calibrated probabilities (float32, as the model serves them) and labels drawn from them. */
function calibratedSample(seed: number, rows = ROWS): { scores: Float32Array; labels: Uint8Array } {
  const prng = new Prng(seed);
  const scores = new Float32Array(rows);
  const labels = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const p = Math.fround(1 / (1 + Math.exp(-(-1.2 + 1.4 * normal(prng)))));
    scores[i] = p;
    labels[i] = prng.next() < p ? 1 : 0;
  }
  return { scores, labels };
}

/** What DuckDB hands the estimator: distinct scores with their counts. */
function grouped(scores: ArrayLike<number>): ScoreCount[] {
  const counts = new Map<number, number>();
  for (let i = 0; i < scores.length; i++) counts.set(scores[i] as number, (counts.get(scores[i] as number) ?? 0) + 1);
  return [...counts].map(([score, count]) => ({ score, count }));
}

/** Hanley & McNeil (1982): the standard error of an empirical AUC with P positives and N negatives. */
function aucStandardError(auc: number, labels: Uint8Array): number {
  const positives = labels.reduce((a, b) => a + b, 0);
  const negatives = labels.length - positives;
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  return Math.sqrt((auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) / (positives * negatives));
}

describe('CBPE: performance estimated from calibrated scores', () => {
  test('on a synthetic calibrated model the estimated AUC matches the realized AUC within 3 standard errors, for every seed', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { scores, labels } = calibratedSample(seed);
      const realized = rocAuc(labels, scores);
      const tolerance = 3 * aucStandardError(realized, labels);
      const estimate = performanceEstimateSchema.parse(estimatePerformance(grouped(scores), 0.3, null));
      assert.equal(estimate.rows, ROWS);
      assert.ok(estimate.rocAuc !== null && Math.abs(estimate.rocAuc - realized) < tolerance, `seed ${seed}: estimated ${estimate.rocAuc} vs realized ${realized} (tolerance ${tolerance.toFixed(4)})`);
      assert.ok(tolerance > 0.008 && tolerance < 0.015, `tolerance ${tolerance}`);

      // The expected confusion matrix at the threshold: each cell's realized count is a sum of
      // Bernoulli draws, so it lies within 4 of its standard deviations sqrt(Σ p(1 − p)).
      const realizedAt = metricsAtThreshold(labels, scores, 0.3);
      let varianceAbove = 0;
      let varianceBelow = 0;
      for (const p of scores) {
        if (p >= 0.3) varianceAbove += p * (1 - p);
        else varianceBelow += p * (1 - p);
      }
      assert.ok(Math.abs(estimate.confusion.truePositives - realizedAt.truePositives) < 4 * Math.sqrt(varianceAbove), `TP ${estimate.confusion.truePositives} vs ${realizedAt.truePositives}`);
      assert.ok(Math.abs(estimate.confusion.falseNegatives - realizedAt.falseNegatives) < 4 * Math.sqrt(varianceBelow), `FN ${estimate.confusion.falseNegatives} vs ${realizedAt.falseNegatives}`);
      const c = estimate.confusion;
      assert.ok(Math.abs(c.truePositives + c.falsePositives + c.trueNegatives + c.falseNegatives - ROWS) < 1e-6);
      assert.ok(Math.abs(estimate.precision - realizedAt.precision) < 0.03 && Math.abs(estimate.recall - realizedAt.recall) < 0.03, JSON.stringify({ estimate, realizedAt }));
    }
  });

  test('the estimate follows a covariate shift: fewer extreme scores, lower AUC, and the estimate sees it', () => {
    // Only the middle of the score range is served: P(y | score) is unchanged, the AUC drops.
    const { scores, labels } = calibratedSample(7, 60_000);
    const keep = [...scores.keys()].filter((i) => (scores[i] as number) > 0.15 && (scores[i] as number) < 0.5);
    const s = Float32Array.from(keep, (i) => scores[i] as number);
    const l = Uint8Array.from(keep, (i) => labels[i] as number);
    const realized = rocAuc(l, s);
    const estimate = estimatePerformance(grouped(s), 0.3, null);
    assert.ok(realized < rocAuc(labels, scores) - 0.1, `the shift lowers the AUC: ${realized}`);
    assert.ok(estimate.rocAuc !== null && Math.abs(estimate.rocAuc - realized) < 3 * aucStandardError(realized, l), `estimated ${estimate.rocAuc} vs realized ${realized}`);
  });

  test('uncalibrated scores mislead the estimate; the isotonic map fitted on a reference sample restores it', () => {
    // The served score is p³: same ranking (same realized AUC), badly under-confident probabilities.
    const served = (scores: Float32Array) => scores.map((p) => Math.fround(p ** 3));
    const reference = calibratedSample(11);
    const check = checkCalibration(reference.labels, served(reference.scores), 'validation');
    assert.ok(check.map, 'the check asks for a map');
    assert.ok(check.crossFittedCalibratedError < check.expectedCalibrationError / 3, JSON.stringify({ raw: check.expectedCalibrationError, crossFitted: check.crossFittedCalibratedError }));

    const window = calibratedSample(12);
    const scores = served(window.scores);
    const realized = rocAuc(window.labels, scores);
    const tolerance = 3 * aucStandardError(realized, window.labels);
    const raw = estimatePerformance(grouped(scores), 0.3 ** 3, null);
    const calibrated = estimatePerformance(grouped(scores), 0.3 ** 3, check.map);
    assert.equal(calibrated.calibrated, true);
    assert.ok(raw.rocAuc !== null && Math.abs(raw.rocAuc - realized) > 3 * tolerance, `raw estimate ${raw.rocAuc} vs realized ${realized}`);
    assert.ok(calibrated.rocAuc !== null && Math.abs(calibrated.rocAuc - realized) < tolerance, `calibrated estimate ${calibrated.rocAuc} vs realized ${realized}`);
    const positives = window.labels.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(calibrated.expectedPositives - positives) < 4 * Math.sqrt(calibrated.rows * 0.25), `${calibrated.expectedPositives} vs ${positives}`);
  });

  test('a calibrated model keeps its raw scores: the map would not help on data it did not see', () => {
    const { scores, labels } = calibratedSample(21, 40_000);
    const check = checkCalibration(labels, scores, 'validation');
    assert.equal(check.map, null, JSON.stringify({ raw: check.expectedCalibrationError, crossFitted: check.crossFittedCalibratedError }));
    assert.ok(check.expectedCalibrationError < 0.01);
    assert.equal(check.bins.length, 10);
    assert.equal(check.bins.reduce((a, b) => a + b.rows, 0), 40_000);
    assert.ok(Math.abs(check.expectedCalibrationError - expectedCalibrationError(labels, scores)) < 1e-12);
  });

  test('an empty window or one class of expected labels has no AUC', () => {
    assert.equal(estimatePerformance([], 0.5, null).rocAuc, null);
    assert.equal(estimatePerformance([], 0.5, null).rows, 0);
    const sure = estimatePerformance([{ score: 0, count: 10 }], 0.5, null);
    assert.equal(sure.rocAuc, null);
    assert.equal(sure.confusion.trueNegatives, 10);
  });
});

describe('isotonic calibration map', () => {
  test('pools adjacent violators into a non-decreasing step and interpolates between block means', () => {
    const map = fitIsotonic([0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.4]);
    assert.deepEqual(map.scores.map((x) => Number(x.toFixed(6))), [0.1, 0.25, 0.4]);
    assert.deepEqual(map.probabilities, [0, 0.5, 1]);
    assert.equal(calibrate(map, 0), 0);
    assert.equal(calibrate(map, 0.25), 0.5);
    assert.ok(Math.abs(calibrate(map, 0.325) - 0.75) < 1e-12);
    assert.equal(calibrate(map, 0.9), 1);
  });

  test('is monotone on noisy data', () => {
    const { scores, labels } = calibratedSample(31, 5_000);
    const map = fitIsotonic(labels, scores);
    for (let i = 1; i < map.scores.length; i++) {
      assert.ok((map.scores[i] as number) > (map.scores[i - 1] as number));
      assert.ok((map.probabilities[i] as number) >= (map.probabilities[i - 1] as number));
    }
  });
});
