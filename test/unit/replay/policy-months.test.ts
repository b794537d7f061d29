import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type JudgedWindow, type ReplayPeriod, type ServedPrediction, estimateErrors, policyFigures } from '../../../scripts/replay/policy-months.ts';
import { policyTable, verdictTable, versionsCell } from '../../../scripts/replay/policy-table.ts';

const DAY = 86_400_000;
const periods: ReplayPeriod[] = [
  { name: 'week', from: 0, until: 7 * DAY, scored: false },
  { name: 'M1', from: 7 * DAY, until: 37 * DAY, scored: true },
  { name: 'M2', from: 37 * DAY, until: 67 * DAY, scored: true },
];

const served = (policy: string, day: number, score: number, delayed: boolean, version = 1): ServedPrediction => ({ policy, departureMs: day * DAY + 3_600_000, score, version, delayed });

test('each period is scored on its own labelled traffic: AUC, log loss, versions served, retrainings started', () => {
  const rows = [
    served('a', 1, 0.9, true),
    served('a', 1, 0.1, false),
    served('b', 1, 0.1, true), // another policy's traffic is not counted
    served('a', 10, 0.8, true),
    served('a', 11, 0.3, false),
    served('a', 12, 0.7, false, 2),
    served('a', 13, 0.6, true, 2),
    served('a', 40, 0.4, true, 2),
    served('a', 41, 0.2, false, 2),
  ];
  const figures = policyFigures('a', periods, rows, [9 * DAY, 38 * DAY, 100 * DAY]);
  const [week, m1, m2] = figures.periods;
  assert.equal(week?.events, 2);
  assert.equal(week?.rocAuc, 1);
  assert.equal(m1?.events, 4);
  // Positives 0.8, 0.6 against negatives 0.3, 0.7: 3 of 4 pairs ordered.
  assert.equal(m1?.rocAuc, 0.75);
  assert.deepEqual(m1?.versions, [{ version: 1, share: 0.5 }, { version: 2, share: 0.5 }]);
  assert.equal(m1?.retrainingsStarted, 1);
  assert.equal(m2?.retrainingsStarted, 1, 'a start after the last period is not counted');
  const expectedLogLoss = -(Math.log(0.8) + Math.log(0.7) + Math.log(0.3) + Math.log(0.6)) / 4;
  assert.ok(Math.abs((m1?.logLoss ?? 0) - expectedLogLoss) < 1e-12);
  // The mean counts the scored periods only, each month weighing the same.
  assert.equal(figures.meanRocAuc, (0.75 + 1) / 2);
  assert.equal(figures.retrainings, 2);
  const lines = policyTable([figures]);
  assert.match(lines[0] ?? '', /\| replayed +\| policy/);
  assert.ok(lines.some((l) => l.includes('| M1') && l.includes('v1 50%, v2 50%') && l.includes('0.7500')));
  assert.ok(lines.some((l) => l.includes('mean Mar-Jun') && l.includes('0.8750')));
});

test('a period with one class has no AUC, and an empty one no figures', () => {
  const figures = policyFigures('a', periods, [served('a', 10, 0.4, false), served('a', 11, 0.2, false)], []);
  assert.equal(figures.periods[1]?.rocAuc, null);
  assert.ok((figures.periods[1]?.logLoss ?? 0) > 0);
  assert.equal(figures.periods[2]?.events, 0);
  assert.equal(figures.periods[2]?.logLoss, null);
  assert.equal(figures.meanRocAuc, null);
  assert.equal(versionsCell([]), '-');
});

test('the CBPE error per period is estimated minus realized over windows ending in it', () => {
  const window = (untilDay: number, realized: number | null, estimated: number | null): JudgedWindow => ({
    fromMs: (untilDay - 7) * DAY,
    untilMs: untilDay * DAY,
    version: 1,
    drift: 'ok',
    driftReasons: [],
    performance: 'ok',
    performanceReasons: [],
    realizedRocAuc: realized,
    estimatedRocAuc: estimated,
    retraining: null,
  });
  const windows = [window(7, 0.7, 0.72), window(14, 0.65, 0.7), window(21, 0.6, 0.64), window(28, null, 0.7), window(37, 0.66, 0.6)];
  const [week, m1, m2] = estimateErrors(periods, windows);
  assert.equal(week?.windows, 1, 'a window ending at the period boundary belongs to the period it covers');
  assert.ok(Math.abs((week?.meanError ?? 0) - 0.02) < 1e-12);
  assert.equal(m1?.windows, 3, 'a window without a realized figure is left out');
  assert.ok(Math.abs((m1?.meanError ?? 0) - (0.05 + 0.04 - 0.06) / 3) < 1e-12);
  assert.ok(Math.abs((m1?.meanAbsError ?? 0) - (0.05 + 0.04 + 0.06) / 3) < 1e-12);
  assert.ok(Math.abs((m1?.maxAbsError ?? 0) - 0.06) < 1e-12);
  assert.equal(m2?.windows, 0);
  assert.equal(m2?.meanError, null);
  const lines = verdictTable([{ ...window(14, 0.65, 0.7), drift: 'alert', driftReasons: ['origin_delay_rate_7d alert PSI 0.700'], performance: 'breach', performanceReasons: ['ROC AUC 0.650 vs baseline 0.713 (drop 0.063 > 0.02)'], retraining: 'STARTED r1' }]);
  assert.ok(lines[2]?.includes('alert: origin_delay_rate_7d alert PSI 0.700') && lines[2].includes('breach: ROC AUC 0.650') && lines[2].includes('STARTED r1'));
});
