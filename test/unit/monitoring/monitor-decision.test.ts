import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planChunks } from '../../../shared/batch-scoring.ts';
import { durationMs } from '../../../shared/duration.ts';
import {
  decideRetraining,
  driftMonitorInputSchema,
  judgeWindowPerformance,
  type MonitoredWindow,
  type MonitorState,
  monitorStateSchema,
  windowEnding,
  windowsToRejudge,
  withRealizedPerformance,
} from '../../../shared/monitoring.ts';

const state = (verdicts: ('ok' | 'warn' | 'alert')[], lastRetrainAt?: string): MonitorState => ({
  model: 'm',
  windows: verdicts.map((verdict, i) => ({ until: new Date(Date.UTC(2026, 0, 1, i)).toISOString(), version: 1, verdict, rocAuc: null })),
  scoreBaseline: null,
  lastRetrain: lastRetrainAt ? { at: lastRetrainAt, workflowId: 'w' } : null,
});
const now = Date.parse('2026-01-02T00:00:00Z');
const options = { consecutive: { k: 2, n: 3 }, cooldownMs: durationMs('24h') };
const limits = { ...driftMonitorInputSchema.parse({ model: 'm' }).performance, minLabelled: 100 };
const baseline = { rocAuc: 0.716, logLoss: 0.45 };

describe('decideRetraining: K of N windows, realized performance against the baseline, cooldown', () => {
  test('one alert in the last three windows is a false alarm; two trip', () => {
    assert.equal(decideRetraining(state(['alert', 'ok', 'ok', 'alert']), 1, now, options).retrain, false);
    const tripped = decideRetraining(state(['ok', 'alert', 'warn', 'alert']), 1, now, options);
    assert.equal(tripped.retrain, true);
    assert.equal(tripped.alerts, 2);
    assert.match(tripped.reason, /2 of the last 3 windows alerted/);
  });

  test('windows of another version do not count', () => {
    const s = state(['alert', 'alert', 'ok']);
    s.windows[0] = { ...s.windows[0]!, version: 0 };
    s.windows[1] = { ...s.windows[1]!, version: 0 };
    assert.equal(decideRetraining(s, 1, now, options).retrain, false);
  });

  test('a retraining within the cooldown holds the trigger back', () => {
    const held = decideRetraining(state(['alert', 'alert']), 1, now, options);
    assert.equal(held.retrain, true);
    const cooling = decideRetraining(state(['alert', 'alert'], '2026-01-01T12:00:00Z'), 1, now, options);
    assert.deepEqual([cooling.tripped, cooling.coolingDown, cooling.retrain], [true, true, false]);
    assert.equal(decideRetraining(state(['alert', 'alert'], '2025-12-31T23:00:00Z'), 1, now, options).retrain, true);
  });

  test('realized performance breaches count K of the last N labelled windows; the absolute floor is one more breach', () => {
    const s = state(['ok', 'ok', 'ok', 'ok']);
    const judge = (i: number, rocAuc: number, labelled = 500, floor?: number) => {
      s.windows[i] = { ...s.windows[i]!, rocAuc, labelled, ...judgeWindowPerformance({ labelled, rocAuc, logLoss: 0.45 }, baseline, { ...limits, ...(floor ? { minRocAuc: floor } : {}) }) };
    };
    judge(0, 0.648);
    judge(1, 0.7);
    judge(2, 0.6, 50); // too few labels: not judged, not counted
    assert.equal(s.windows[2]!.performance, 'insufficient-labels');
    assert.equal(decideRetraining(s, 1, now, options).retrain, false, 'one breach of two labelled windows');
    judge(3, 0.69, 500, 0.695);
    const tripped = decideRetraining(s, 1, now, options);
    assert.deepEqual([tripped.performanceBreaches, tripped.performanceBreached, tripped.retrain], [2, true, true]);
    assert.match(tripped.reason, /2 of the last 3 labelled windows breached performance .*ROC AUC 0\.690 < floor 0\.695 on 500 labels/);
    assert.equal(decideRetraining(s, 1, now, { ...options, consecutive: { k: 3, n: 3 } }).retrain, false);
  });

  test('a window is judged against its own baseline: AUC drop and log-loss rise beyond the limits, each named', () => {
    const within = judgeWindowPerformance({ labelled: 300, rocAuc: 0.7, logLoss: 0.49 }, baseline, limits);
    assert.deepEqual(within, { performance: 'ok', performanceReasons: [] });
    const worse = judgeWindowPerformance({ labelled: 300, rocAuc: 0.648, logLoss: 0.52 }, baseline, limits);
    assert.equal(worse.performance, 'breach');
    assert.deepEqual(worse.performanceReasons, ['ROC AUC 0.648 vs baseline 0.716 (drop 0.068 > 0.02)', 'log loss 0.520 vs baseline 0.450 (rise 0.070 > 0.05)']);
    // A version evaluated without these metrics has no baseline to breach.
    assert.equal(judgeWindowPerformance({ labelled: 300, rocAuc: 0.5, logLoss: 2 }, { rocAuc: null, logLoss: null }, limits).performance, 'ok');
    assert.equal(judgeWindowPerformance({ labelled: 99, rocAuc: 0.5, logLoss: 2 }, baseline, limits).performance, 'insufficient-labels');
    assert.deepEqual([limits.maxAucDrop, limits.maxLogLossIncrease, driftMonitorInputSchema.parse({ model: 'm' }).labelHorizon], [0.02, 0.05, '7d']);
  });

  test('a window is re-judged each time its age doubles and once after the horizon, then never again', () => {
    const hour = 3_600_000;
    const horizon = durationMs('2d');
    const until = '2026-01-01T10:00:00.000Z';
    const t = (hours: number) => Date.parse(until) + hours * hour;
    let w: MonitoredWindow = { until, from: '2026-01-01T09:00:00.000Z', version: 1, verdict: 'ok', rocAuc: null };
    const judgedAt: number[] = [];
    for (let h = 0; h <= 24 * 5; h++) {
      if (h > 0 && windowsToRejudge([w], 1, t(h), horizon, hour).length === 0) continue;
      judgedAt.push(h);
      w = withRealizedPerformance(w, { served: 1000, labelled: 10 * h, rocAuc: 0.7, logLoss: 0.5 }, baseline, limits, t(h), horizon);
    }
    assert.deepEqual(judgedAt, [0, 1, 2, 4, 8, 16, 32, 48]);
    assert.equal(w.labelsFinal, true);
    // Labels count until the horizon, not up to the late pass that made the figures final.
    assert.equal(w.labelsAsOf, new Date(t(48)).toISOString());
    assert.equal(w.labelled, 480);
    assert.equal(w.performance, 'ok');
    // Windows of another version, or recorded before realized performance (no `from`), are left alone.
    assert.deepEqual(windowsToRejudge([{ ...w, labelsFinal: false, version: 2 }, { until, version: 1, verdict: 'ok', rocAuc: 0.7 }], 1, t(200), horizon, hour), []);
  });

  test('a monitor state written before realized performance still loads', () => {
    const old = { model: 'm', windows: [{ until: '2026-01-01T10:00:00.000Z', version: 1, verdict: 'warn', rocAuc: 0.7 }], scoreBaseline: null, lastRetrain: null };
    const parsed = monitorStateSchema.parse(old);
    assert.deepEqual(parsed.windows[0], old.windows[0]);
    assert.equal(decideRetraining(parsed, 1, now, options).performanceBreached, false);
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
