import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  averagePrecision,
  brierScore,
  classificationMetrics,
  classificationMetricsSchema,
  expectedCalibrationError,
  logLoss,
  MetricInputError,
  metricsAtThreshold,
  rocAuc,
} from '../../../domain/evaluation/metrics.ts';

const close = (actual: number, expected: number, tolerance = 1e-12) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);

// Four rows worked by hand in each test below.
const labels = [1, 0, 1, 0];
const scores = [0.9, 0.8, 0.4, 0.1];

describe('rocAuc', () => {
  test('counts the pairs a positive wins: 0.9 beats both negatives, 0.4 beats one → 3/4', () => {
    close(rocAuc(labels, scores), 0.75);
  });

  test('counts a tie between a positive and a negative as half a win', () => {
    // Positives .8, .6, .2; negatives .6, .3: wins 2 + (0.5 + 1) + 0 = 3.5 of 6 pairs.
    close(rocAuc([1, 1, 0, 0, 1], [0.8, 0.6, 0.6, 0.3, 0.2]), 3.5 / 6);
    close(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]), 0.5);
  });

  test('is 1 for a perfect ranking and 0 for a reversed one, whatever the row order', () => {
    close(rocAuc([0, 1, 0, 1], [0.1, 0.7, 0.3, 0.9]), 1);
    close(rocAuc([0, 1, 0, 1], [0.9, 0.3, 0.7, 0.1]), 0);
  });

  test('accepts scores that are not probabilities', () => {
    close(rocAuc([1, 0, 1, 0], [9, 8, 4, -1]), 0.75);
  });

  test('refuses a single class', () => {
    assert.throws(() => rocAuc([1, 1], [0.2, 0.4]), MetricInputError);
  });
});

describe('averagePrecision', () => {
  test('sums precision at each recall step: 1 · 1/2 + 2/3 · 1/2 = 5/6', () => {
    close(averagePrecision(labels, scores), 5 / 6);
  });

  test('treats tied scores as one threshold', () => {
    // Groups .8 (+), .6 (+,−), .3 (−), .2 (+): 1/3 · 1 + 1/3 · 2/3 + 1/3 · 3/5 = 34/45.
    close(averagePrecision([1, 1, 0, 0, 1], [0.8, 0.6, 0.6, 0.3, 0.2]), 34 / 45);
    close(averagePrecision([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]), 0.5);
  });

  test('refuses data without positives', () => {
    assert.throws(() => averagePrecision([0, 0], [0.2, 0.4]), MetricInputError);
  });
});

describe('logLoss', () => {
  test('averages −log of the probability given to the true class', () => {
    const expected = -(Math.log(0.9) + Math.log(0.2) + Math.log(0.4) + Math.log(0.9)) / 4;
    close(logLoss(labels, scores), expected);
  });

  test('clips certainty so a confident miss costs −log(1e-15), not infinity', () => {
    close(logLoss([1], [0]), -Math.log(1e-15));
    // 1 − 1e-15 is not exact in binary, so the other side costs slightly more, but stays finite.
    const miss = logLoss([0], [1]);
    assert.ok(Number.isFinite(miss) && miss > 34.5 && miss < 34.6, `got ${miss}`);
  });
});

describe('brierScore', () => {
  test('averages squared errors: (.01 + .64 + .36 + .01) / 4', () => {
    close(brierScore(labels, scores), 0.255);
  });
});

describe('expectedCalibrationError', () => {
  test('weights each bin gap by its share of rows', () => {
    // One row per bin (9, 8, 4, 1): gaps .1, .8, .6, .1 → 1.6 / 4.
    close(expectedCalibrationError(labels, scores), 0.4);
  });

  test('pools rows sharing a bin and puts p = 1 in the last bin', () => {
    // Bin 9 holds .95 (1) and 1.0 (0): |0.975 − 0.5| = .475; bin 0 holds .05 (0): .05. Weighted: (2·.475 + .05) / 3.
    close(expectedCalibrationError([1, 0, 0], [0.95, 1, 0.05]), (2 * 0.475 + 0.05) / 3);
  });

  test('is 0 when every bin is perfectly calibrated', () => {
    close(expectedCalibrationError([1, 0, 1, 0], [0.55, 0.55, 0.55, 0.55]), 0.05);
    close(expectedCalibrationError([1, 0], [1, 0]), 0);
  });
});

describe('metricsAtThreshold', () => {
  test('predicts positive at or above the threshold', () => {
    const m = metricsAtThreshold(labels, scores, 0.5);
    assert.deepEqual(
      { tp: m.truePositives, fp: m.falsePositives, tn: m.trueNegatives, fn: m.falseNegatives },
      { tp: 1, fp: 1, tn: 1, fn: 1 },
    );
    close(m.precision, 0.5);
    close(m.recall, 0.5);
    close(m.f1, 0.5);
    assert.equal(metricsAtThreshold([1, 0], [0.4, 0.4], 0.4).truePositives, 1);
  });

  test('computes F1 as the harmonic mean of precision 1 and recall 1/2', () => {
    const m = metricsAtThreshold(labels, scores, 0.85);
    close(m.precision, 1);
    close(m.recall, 0.5);
    close(m.f1, 2 / 3);
  });

  test('reports 0 precision and F1 when nothing is predicted positive', () => {
    const m = metricsAtThreshold(labels, scores, 0.95);
    assert.equal(m.precision, 0);
    assert.equal(m.f1, 0);
  });
});

describe('classificationMetrics', () => {
  test('bundles every metric into a report its schema accepts', () => {
    const report = classificationMetrics(labels, scores, 0.5);
    classificationMetricsSchema.parse(report);
    assert.equal(report.rows, 4);
    close(report.positiveRate, 0.5);
    close(report.rocAuc, 0.75);
    close(report.brierScore, 0.255);
  });

  test('rejects mismatched lengths, bad labels and probabilities outside [0, 1]', () => {
    assert.throws(() => classificationMetrics([1, 0], [0.5]), MetricInputError);
    assert.throws(() => classificationMetrics([1, 2], [0.5, 0.5]), MetricInputError);
    assert.throws(() => classificationMetrics([1, 0], [0.5, 1.5]), MetricInputError);
    assert.throws(() => classificationMetrics([1, 0], [0.5, NaN]), MetricInputError);
    assert.throws(() => classificationMetrics([], []), MetricInputError);
  });
});
