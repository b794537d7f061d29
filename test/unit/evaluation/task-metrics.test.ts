import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { multiclassMetrics, regressionMetrics } from '../../../domain/evaluation/task-metrics.ts';
import { gateMetricProblems } from '../../../shared/gates.ts';

describe('regression metrics', () => {
  test('RMSE, MAE, R², MAE/mean and residual quantiles by hand', () => {
    const m = regressionMetrics([1, 2, 3, 4], [2, 2, 3, 2]);
    assert.equal(m.mae, 0.75);
    assert.equal(m.rmse, Math.sqrt(5 / 4));
    assert.equal(m.r2, 1 - 5 / 5);
    assert.equal(m.maeOverMean, 3 / 10);
    assert.equal(m.residualQuantiles.find((q) => q.q === 0.5)?.residual, 0);
    assert.equal(m.calibrationByDecile.reduce((a, b) => a + b.rows, 0), 4);
  });
});

describe('multiclass metrics', () => {
  test('log loss, accuracy, macro-F1, per-class figures and the confusion matrix by hand', () => {
    // Rows: actual 0 predicted 0, actual 1 predicted 1, actual 2 predicted 1.
    const p = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.5, 0.3];
    const m = multiclassMetrics([0, 1, 2], p, ['a', 'b', 'c']);
    assert.deepEqual(m.confusion, [[1, 0, 0], [0, 1, 0], [0, 1, 0]]);
    assert.equal(m.accuracy, 2 / 3);
    assert.ok(Math.abs(m.logLoss - -(Math.log(0.7) + Math.log(0.8) + Math.log(0.3)) / 3) < 1e-12);
    assert.deepEqual(m.perClass.map((c) => [c.precision, c.recall]), [[1, 1], [0.5, 1], [0, 0]]);
    assert.ok(Math.abs(m.macroF1 - (1 + 2 / 3 + 0) / 3) < 1e-12);
    assert.equal(m.perClass[0]?.rocAuc, 1);
  });
});

describe('gate metrics per kind', () => {
  test('a gate on a metric of another kind is named with the metrics that kind has', () => {
    const problems = gateMetricProblems({ absolute: [{ metric: 'rocAuc', min: 0.6 }, { metric: 'rmse', max: 10 }] }, 'regression');
    assert.equal(problems.length, 1);
    assert.deepEqual(problems[0]?.path, ['absolute', 0, 'metric']);
    assert.match(problems[0]?.message ?? '', /"rocAuc" does not exist for a regression model; its metrics are rmse, mae, r2, maeOverMean/);
    assert.deepEqual(gateMetricProblems({ vsChampion: [{ metric: 'macroF1' }] }, 'multiclass'), []);
  });
});
