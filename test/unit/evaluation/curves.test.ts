import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CURVE_POINTS, binaryCurves, prCurve, regressionCurves, rocCurve, scoreHistogram } from '../../../domain/evaluation/curves.ts';
import { averagePrecision, expectedCalibrationError, rocAuc } from '../../../domain/evaluation/metrics.ts';
import { Prng } from '../../../domain/training/prng.ts';
import { evaluationReportSchema } from '../../../shared/evaluation-report.ts';
import { trapezoidArea } from '../../support/curve-area.ts';

/** A test split of `rows` rows whose scores separate the labels only partly, with scores rounded to 3 decimals so ties are common. */
function split(rows: number, seed: number) {
  const prng = new Prng(seed);
  const labels = new Uint8Array(rows);
  const scores = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const label = prng.next() < 0.2 ? 1 : 0;
    labels[i] = label;
    scores[i] = Math.round(Math.min(1, Math.max(0, 0.3 + 0.25 * (label - 0.5) + 0.25 * (prng.next() - 0.5) * 2)) * 1000) / 1000;
  }
  return { labels, scores };
}

describe('evaluation curves', () => {
  const { labels, scores } = split(200_000, 7);

  test('the ROC vertices are a few hundred, run from (0,0) to (1,1), and their trapezoid area is the ROC AUC within 0.005', () => {
    const roc = rocCurve(labels, scores);
    assert.ok(roc.length <= CURVE_POINTS + 2, `${roc.length} vertices`);
    assert.ok(roc.length > 50);
    assert.deepEqual([roc[0]?.fpr, roc[0]?.tpr], [0, 0]);
    assert.deepEqual([roc.at(-1)?.fpr, roc.at(-1)?.tpr], [1, 1]);
    for (let i = 1; i < roc.length; i++) assert.ok((roc[i]?.threshold ?? 0) < (roc[i - 1]?.threshold ?? 0), 'thresholds fall along the curve');
    const area = trapezoidArea(roc.map((p) => ({ x: p.fpr, y: p.tpr })));
    assert.ok(Math.abs(area - rocAuc(labels, scores)) < 0.005, `area ${area} vs AUC ${rocAuc(labels, scores)}`);
    assert.ok(Number.isFinite(roc[0]?.threshold), 'every threshold survives JSON');
  });

  test('the PR vertices give the average precision as a step-wise area within 0.01', () => {
    const pr = prCurve(labels, scores);
    assert.ok(pr.length <= CURVE_POINTS + 2);
    let previous = 0;
    let area = 0;
    for (const p of pr) {
      area += (p.recall - previous) * p.precision;
      previous = p.recall;
    }
    assert.equal(pr.at(-1)?.recall, 1);
    assert.ok(Math.abs(area - averagePrecision(labels, scores)) < 0.01, `area ${area} vs AP ${averagePrecision(labels, scores)}`);
  });

  test('the score histogram counts every row once under its label; the reliability bins give the ECE', () => {
    const histogram = scoreHistogram(labels, scores);
    assert.equal(histogram.edges.length, histogram.positives.length + 1);
    const positives = labels.reduce((a, b) => a + b, 0);
    assert.equal(histogram.positives.reduce((a, b) => a + b, 0), positives);
    assert.equal(histogram.negatives.reduce((a, b) => a + b, 0), labels.length - positives);
    const curves = binaryCurves(labels, scores);
    const ece = curves.reliability.reduce((e, b) => e + (b.rows && b.meanScore !== null && b.positiveRate !== null ? (b.rows / labels.length) * Math.abs(b.meanScore - b.positiveRate) : 0), 0);
    assert.ok(Math.abs(ece - expectedCalibrationError(labels, scores)) < 1e-9);
  });

  test('a curve of one class is refused', () => {
    assert.throws(() => rocCurve([1, 1], [0.2, 0.4]), /both classes/);
    assert.throws(() => prCurve([0, 0], [0.2, 0.4]), /at least one positive/);
  });

  test('the regression sample is spread over the whole split and bounded', () => {
    const actual = Float64Array.from({ length: 10_000 }, (_, i) => i);
    const predicted = Float64Array.from(actual, (y) => y + 1);
    const curves = regressionCurves(actual, predicted);
    assert.equal(curves.sample.length, 400);
    assert.equal(curves.rows, 10_000);
    assert.equal(curves.sample[0]?.actual, 0);
    assert.ok((curves.sample.at(-1)?.actual ?? 0) > 9900);
    assert.ok(curves.sample.every((s) => s.predicted === s.actual + 1));
    assert.equal(regressionCurves([1, 2, 3], [1, 2, 3]).sample.length, 3);
  });

  test('a report written before curves existed still parses, and one with them keeps them', () => {
    const old = { runId: 'r', modelName: 'm', datasetVersion: 'd', featureDefinitionHash: 'f', testRows: 10, overall: { rocAuc: 0.7 }, slices: [], champion: { skipped: 'no version is champion yet' }, latency: {} };
    assert.equal(evaluationReportSchema.parse(old).curves, undefined);
    const curves = JSON.parse(JSON.stringify(binaryCurves(labels, scores))) as unknown;
    assert.equal(evaluationReportSchema.parse({ ...old, curves }).curves?.kind, 'binary');
  });
});
