import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderDriftHtml } from '../../../domain/monitoring/drift-html.ts';
import { buildDriftReport, featureWeights, SCORE_BINS, type WindowCounts } from '../../../domain/monitoring/drift-report.ts';
import type { ReferenceStats } from '../../../shared/data/feature-tables.ts';
import { decideRetraining, driftReportSchema, driftThresholdsSchema, type MonitorState } from '../../../shared/monitoring.ts';

/** Four numeric features over ten equal reference bins; a window moves chosen features into their top bin. */
const NAMES = ['a', 'b', 'c', 'd'];
const reference: ReferenceStats = {
  kind: 'sluice.reference-stats',
  featureSpecHash: 'a'.repeat(64),
  datasetVersion: 'b'.repeat(64),
  split: 'train',
  rows: 10_000,
  label: { name: 'y', positives: 2_000, positiveRate: 0.2 },
  features: NAMES.map((name) => ({
    name,
    kind: 'numeric' as const,
    rows: 10_000,
    nullCount: 0,
    nullRate: 0,
    mean: 5,
    std: 2.9,
    min: 0,
    max: 10,
    binEdges: [1, 2, 3, 4, 5, 6, 7, 8, 9],
    binCounts: new Array<number>(10).fill(1_000),
  })),
};

function windowMoving(moved: readonly string[]): WindowCounts {
  const numeric: WindowCounts['numeric'] = {};
  for (const name of NAMES) numeric[name] = { present: 5_000, bins: moved.includes(name) ? [...new Array<number>(9).fill(100), 4_100] : new Array<number>(10).fill(500) };
  return { rows: 5_000, numeric, categorical: {}, score: new Array<number>(SCORE_BINS).fill(500) };
}

const thresholds = driftThresholdsSchema.parse({});
const importance = { a: 0.55, b: 0.2, c: 0.15, d: 0.1 };
const report = (moved: readonly string[], weights?: Record<string, number>) =>
  driftReportSchema.parse(
    buildDriftReport({ model: 'm', version: 1, window: { from: '2026-01-01T00:00:00.000Z', until: '2026-01-01T01:00:00.000Z' }, reference, featureNames: NAMES, counts: windowMoving(moved), thresholds, importance: weights, seconds: 0 }),
  );

describe('importance-weighted dataset drift (default datasetDriftShare 0.3)', () => {
  test('one drifted top feature trips the window; with equal weights the same window only warns', () => {
    const weighted = report(['a'], importance);
    assert.equal(weighted.weighting, 'importance');
    assert.deepEqual(weighted.drifted, ['a']);
    assert.equal(weighted.driftShare, 0.55);
    assert.equal(weighted.verdict, 'alert');
    const equal = report(['a']);
    assert.equal(equal.weighting, 'equal');
    assert.equal(equal.driftShare, 0.25);
    assert.equal(equal.verdict, 'warn');
  });

  test('a drifted unimportant feature alone does not trip it, and two small ones that reach the share do', () => {
    const minor = report(['d'], importance);
    assert.deepEqual(minor.drifted, ['d']);
    assert.equal(minor.driftShare, 0.1);
    assert.equal(minor.verdict, 'warn');
    const two = report(['b', 'c'], importance);
    assert.ok(Math.abs(two.driftShare - 0.35) < 1e-12);
    assert.equal(two.verdict, 'alert');
  });

  test('every feature carries its weight in the JSON and the HTML; the score has none', () => {
    const r = report(['a'], importance);
    assert.deepEqual(Object.fromEntries(r.features.map((f) => [f.name, f.weight])), importance);
    const html = renderDriftHtml(r);
    assert.match(html, /id="feature-a"[\s\S]*weight 55\.0%/);
    assert.match(html, /weight 10\.0%/);
    assert.match(html, /features weighted by their permutation importance/);
    assert.match(renderDriftHtml(report(['a'])), /no importance recorded: features weigh equally/);
  });

  test('weights are renormalised over the judged features; none recorded, or none positive, falls back to equal', () => {
    assert.deepEqual([...featureWeights(['a', 'b'], { a: 0.375, b: 0.125, gone: 0.5 }).weights], [['a', 0.75], ['b', 0.25]]);
    assert.equal(featureWeights(['a', 'b'], undefined).weighting, 'equal');
    assert.deepEqual([...featureWeights(['a', 'b'], { a: 0, b: 0 }).weights], [['a', 0.5], ['b', 0.5]]);
  });
});

describe('the estimated-AUC trigger', () => {
  const state: MonitorState = { model: 'm', windows: [{ until: '2026-01-01T00:00:00.000Z', version: 1, verdict: 'ok', rocAuc: null }], scoreBaseline: null, lastRetrain: null };
  const now = Date.parse('2026-01-01T01:00:00Z');
  const options = { consecutive: { k: 2, n: 3 }, cooldownMs: 86_400_000 };
  const dropped = { rocAuc: 0.66, referenceRocAuc: 0.71 };

  test('is off by default: an estimated drop alone starts nothing', () => {
    const decision = decideRetraining(state, 1, now, options, dropped);
    assert.equal(decision.estimateBreached, false);
    assert.equal(decision.retrain, false);
  });

  test('with estimatedMaxAucDrop set, a drop beyond it trips before any label arrives, and one within it does not', () => {
    const decision = decideRetraining(state, 1, now, { ...options, estimatedMaxAucDrop: 0.03 }, dropped);
    assert.equal(decision.estimateBreached, true);
    assert.equal(decision.retrain, true);
    assert.match(decision.reason, /estimated ROC AUC 0\.6600 is 0\.0500 below the test AUC 0\.7100/);
    assert.equal(decideRetraining(state, 1, now, { ...options, estimatedMaxAucDrop: 0.06 }, dropped).retrain, false);
    assert.equal(decideRetraining(state, 1, now, { ...options, estimatedMaxAucDrop: 0.03 }, { rocAuc: 0.66, referenceRocAuc: null }).retrain, false);
  });
});
