import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planChunks } from '../../../shared/batch-scoring.ts';
import { durationMs } from '../../../shared/duration.ts';
import { decideRetraining, type MonitorState, windowEnding } from '../../../shared/monitoring.ts';

const state = (verdicts: ('ok' | 'warn' | 'alert')[], lastRetrainAt?: string): MonitorState => ({
  model: 'm',
  windows: verdicts.map((verdict, i) => ({ until: new Date(Date.UTC(2026, 0, 1, i)).toISOString(), version: 1, verdict, rocAuc: null })),
  scoreBaseline: null,
  lastRetrain: lastRetrainAt ? { at: lastRetrainAt, workflowId: 'w' } : null,
});
const now = Date.parse('2026-01-02T00:00:00Z');
const options = { consecutive: { k: 2, n: 3 }, cooldownMs: durationMs('24h'), minRocAuc: 0.65, minLabelled: 100 };
const noLabels = { rocAuc: null, labelled: 0 };

describe('decideRetraining: K of N windows, cooldown, performance floor', () => {
  test('one alert in the last three windows is a false alarm; two trip', () => {
    assert.equal(decideRetraining(state(['alert', 'ok', 'ok', 'alert']), 1, now, options, noLabels).retrain, false);
    const tripped = decideRetraining(state(['ok', 'alert', 'warn', 'alert']), 1, now, options, noLabels);
    assert.equal(tripped.retrain, true);
    assert.equal(tripped.alerts, 2);
    assert.match(tripped.reason, /2 of the last 3 windows alerted/);
  });

  test('windows of another version do not count', () => {
    const s = state(['alert', 'alert', 'ok']);
    s.windows[0] = { ...s.windows[0]!, version: 0 };
    s.windows[1] = { ...s.windows[1]!, version: 0 };
    assert.equal(decideRetraining(s, 1, now, options, noLabels).retrain, false);
  });

  test('a retraining within the cooldown holds the trigger back', () => {
    const held = decideRetraining(state(['alert', 'alert']), 1, now, options, noLabels);
    assert.equal(held.retrain, true);
    const cooling = decideRetraining(state(['alert', 'alert'], '2026-01-01T12:00:00Z'), 1, now, options, noLabels);
    assert.deepEqual([cooling.tripped, cooling.coolingDown, cooling.retrain], [true, true, false]);
    assert.equal(decideRetraining(state(['alert', 'alert'], '2025-12-31T23:00:00Z'), 1, now, options, noLabels).retrain, true);
  });

  test('AUC below the floor trips only on enough labels', () => {
    assert.equal(decideRetraining(state(['ok']), 1, now, options, { rocAuc: 0.6, labelled: 50 }).retrain, false);
    const low = decideRetraining(state(['ok']), 1, now, options, { rocAuc: 0.6, labelled: 500 });
    assert.equal(low.performanceBreached, true);
    assert.equal(low.retrain, true);
  });

  test('windows end on interval boundaries; durations parse', () => {
    assert.equal(durationMs('15m'), 900_000);
    assert.equal(durationMs('7d'), 604_800_000);
    assert.throws(() => durationMs('1 week'));
    assert.deepEqual(windowEnding(Date.parse('2026-01-01T10:42:13Z'), durationMs('2h'), durationMs('1h')), { from: '2026-01-01T08:00:00.000Z', until: '2026-01-01T10:00:00.000Z' });
  });

  test('batch chunks cover every row once', () => {
    assert.deepEqual(planChunks(10, 4), [
      { index: 0, offset: 0, rows: 4 },
      { index: 1, offset: 4, rows: 4 },
      { index: 2, offset: 8, rows: 2 },
    ]);
    assert.deepEqual(planChunks(0, 4), []);
  });
});
