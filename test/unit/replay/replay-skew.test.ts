import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReplayPeriod } from '../../../scripts/replay/policy-months.ts';
import { type ServedSkew, differingByFeature, skewByPeriod, skewTable } from '../../../scripts/replay/replay-skew.ts';

const DAY = 86_400_000;
const periods: ReplayPeriod[] = [
  { name: 'M1', from: 0, until: 30 * DAY, scored: true },
  { name: 'M2', from: 30 * DAY, until: 60 * DAY, scored: true },
  { name: 'M3', from: 60 * DAY, until: 90 * DAY, scored: true },
];
const served = (day: number, online: (number | string | null)[], offline: (number | string | null)[], onlineScore: number, offlineScore: number): ServedSkew => ({
  departureMs: day * DAY,
  version: 1,
  observation: { online, offline, onlineScore, offlineScore },
});

test('skew per period: events of the period only, the share with a feature differing, max and mean |Δscore|', () => {
  const rows = [
    served(1, [0.5, 'SFO'], [0.5, 'SFO'], 0.2, 0.2),
    served(2, [0.5, 'SFO'], [0.25, 'SFO'], 0.3, 0.1),
    served(29.99, [null, 'LAX'], [0.1, 'LAX'], 0.4, 0.35),
    served(30, [1, 'JFK'], [1 + 1e-9, 'JFK'], 0.6, 0.6), // the period's start belongs to it; within tolerance is equal
  ];
  const [m1, m2, m3] = skewByPeriod(periods, rows);
  assert.equal(m1?.period, 'M1');
  assert.equal(m1?.events, 3);
  assert.equal(m1?.differing, 2);
  assert.ok(Math.abs((m1?.shareDiffering ?? 0) - 2 / 3) < 1e-12);
  assert.ok(Math.abs((m1?.maxAbsScoreDiff ?? 0) - 0.2) < 1e-12);
  assert.ok(Math.abs((m1?.meanAbsScoreDiff ?? 0) - 0.25 / 3) < 1e-12);
  assert.deepEqual([m2?.events, m2?.differing, m2?.maxAbsScoreDiff], [1, 0, 0]);
  assert.deepEqual([m3?.events, m3?.shareDiffering], [0, 0]);
});

test('the skew table has a row per period and policy, and a dash where a period served nothing', () => {
  const a = skewByPeriod(periods, [served(1, [1], [2], 0.5, 0.25), served(2, [1], [1], 0.5, 0.5)]);
  const b = skewByPeriod(periods, [served(40, [1], [1], 0.5, 0.5)]);
  const lines = skewTable([{ policy: 'never', periods: a }, { policy: 'default', periods: b }]);
  assert.equal(lines.length, 2 + 6);
  assert.match(lines[2] ?? '', /^\| M1 +\| never +\| 2 +\| 50\.0 % +\| 0\.2500 +\| 0\.12500 +\|$/);
  assert.match(lines[3] ?? '', /^\| M1 +\| default +\| 0 +\| - +\| - +\| - +\|$/);
  assert.match(lines[5] ?? '', /^\| M2 +\| default +\| 1 +\| 0\.0 % +\| 0\.0000 +\| 0\.00000 +\|$/);
});

test('the share differing per feature says which features carry the skew', () => {
  const rows = [served(1, [1, 'SFO'], [1, 'SFO'], 0.5, 0.5), served(2, [1, 'SFO'], [2, 'SFO'], 0.5, 0.4), served(3, [null, 'SFO'], [3, 'SFO'], 0.5, 0.4), served(4, [4, 'SFO'], [4, 'SFO'], 0.5, 0.5)];
  assert.deepEqual(differingByFeature(['rate', 'origin'], rows), { rate: 0.5, origin: 0 });
  assert.deepEqual(differingByFeature(['rate'], []), { rate: 0 });
});
