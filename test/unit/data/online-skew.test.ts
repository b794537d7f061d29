import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { featuresDiffer, latestRefresh, modelInputs, summarizeSkew } from '../../../domain/features/online-skew.ts';

describe('online/offline skew figures', () => {
  test('features differ beyond the tolerance only; null and strings compare exactly', () => {
    assert.equal(featuresDiffer([1, 'ORD', null], [1 + 5e-7, 'ORD', null]), false);
    assert.equal(featuresDiffer([1, 'ORD', null], [1 + 2e-6, 'ORD', null]), true);
    assert.equal(featuresDiffer([0, 'ORD'], [null, 'ORD']), true, 'a missing value is not zero');
    assert.equal(featuresDiffer([1, 'ORD'], [1, 'ATL']), true);
    assert.throws(() => featuresDiffer([1], [1, 2]), RangeError);
  });

  test('share differing, max and mean |score difference|', () => {
    const summary = summarizeSkew([
      { online: [1, 'a'], offline: [1, 'a'], onlineScore: 0.5, offlineScore: 0.5 },
      { online: [2, 'a'], offline: [3, 'a'], onlineScore: 0.2, offlineScore: 0.5 },
      { online: [4, 'b'], offline: [5, 'b'], onlineScore: 0.4, offlineScore: 0.3 },
      { online: [6, 'c'], offline: [6, 'c'], onlineScore: 0.1, offlineScore: 0.1 },
    ]);
    assert.equal(summary.events, 4);
    assert.equal(summary.differing, 2);
    assert.equal(summary.shareDiffering, 0.5);
    assert.ok(Math.abs(summary.maxAbsScoreDiff - 0.3) < 1e-12);
    assert.ok(Math.abs(summary.meanAbsScoreDiff - 0.1) < 1e-12);
    assert.deepEqual(summarizeSkew([]), { events: 0, differing: 0, shareDiffering: 0, maxAbsScoreDiff: 0, meanAbsScoreDiff: 0 });
  });

  test('the refresh serving an event is the latest one at or before it', () => {
    const hour = 3_600_000;
    assert.equal(latestRefresh(1000, 1000, hour), 1000);
    assert.equal(latestRefresh(1000 + hour - 1, 1000, hour), 1000);
    assert.equal(latestRefresh(1000 + hour, 1000, hour), 1000 + hour);
    assert.throws(() => latestRefresh(999, 1000, hour), RangeError);
    assert.throws(() => latestRefresh(1000, 1000, 0), RangeError);
  });

  test('model inputs in the model order, NaN and empty string for missing', () => {
    const inputs = modelInputs([[3, 'ORD', null], [null, null, 7]], ['x', 'o', 'y'], { numeric: ['y', 'x'], categorical: ['o'] });
    assert.equal(inputs.rows, 2);
    assert.deepEqual([...(inputs.numeric ?? [])], [NaN, 3, 7, NaN]);
    assert.deepEqual(inputs.categorical, ['ORD', '']);
    assert.throws(() => modelInputs([[1]], ['x'], { numeric: ['z'], categorical: [] }), /"z"/);
  });
});
