import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { approvalsPage } from '../../../api/console/pages/approvals-page.ts';
import { evaluationPage } from '../../../api/console/pages/evaluation-page.ts';
import { monitoringPage } from '../../../api/console/pages/monitoring-page.ts';
import { rolloutsPage } from '../../../api/console/pages/rollouts-page.ts';
import { regressionCurves } from '../../../domain/evaluation/curves.ts';
import type { ApprovalsView, EvaluationView, MonitoringView, RolloutsView } from '../../../shared/api/console.ts';

/** The page renderers on hand-made views: what each label kind draws, slices against their gate, and that data never reaches the page unescaped. */
const viewer = { id: 'ana', canAct: true, canDecide: () => true, csrfToken: 'token' };
const HOSTILE = '<img src=x onerror=alert(1)>';

const evaluation = (over: Partial<EvaluationView>): EvaluationView => ({
  model: 'm',
  version: 2,
  labelKind: 'binary',
  runId: 'run-1',
  temporalUi: 'http://127.0.0.1:8233/namespaces/default/workflows/run-1',
  testRows: 1000,
  threshold: null,
  overall: {},
  curves: null,
  champion: { skipped: 'no version is champion yet' },
  slices: [],
  sliceGates: [],
  gate: null,
  confusion: null,
  ...over,
});

describe('console pages', () => {
  test('approvals: decision forms only on the rows of models the session has admin on', () => {
    const pending = (model: string): ApprovalsView['pending'][number] => ({ model, version: 1, pipeline: `train-${model}-run`, temporalUi: 'http://ui', registeredAt: '2026-12-07T00:00:00Z', requestedBy: 'dana', metrics: {}, approval: null });
    const html = approvalsPage({ pending: [pending('flights-delay'), pending('weather-now')], gaps: [] }, { ...viewer, canDecide: (model) => model.startsWith('flights-') });
    const row = (model: string) => new RegExp(`<tr data-pending="${model}-v1">.*?</tr>`).exec(html)?.[0] ?? '';
    assert.match(row('flights-delay'), /data-action="approve"/);
    assert.doesNotMatch(row('weather-now'), /<form/);
    assert.match(row('weather-now'), /needs a session with the admin:weather-now scope/);
  });

  test('regression: predicted against actual and residuals from the stored sample', () => {
    const actual = Float64Array.from({ length: 1000 }, (_, i) => i % 50);
    const curves = JSON.parse(JSON.stringify(regressionCurves(actual, Float64Array.from(actual, (y) => y * 0.9 + 2)))) as EvaluationView['curves'];
    const html = evaluationPage(evaluation({ labelKind: 'regression', curves, overall: { rmse: 3.1 } }), viewer);
    assert.equal((html.match(/<circle class="dot"/g) ?? []).length, 800, 'both plots draw the 400 sampled rows');
    assert.ok(html.includes('data-chart="predicted-vs-actual"') && html.includes('data-chart="residuals"'));
  });

  test('multiclass: the confusion matrix; slices drawn against the slice gate, failing ones marked', () => {
    const html = evaluationPage(
      evaluation({
        labelKind: 'multiclass',
        confusion: { classes: ['a', 'b'], counts: [[40, 10], [5, 45]] },
        slices: [
          { name: 'origin=large', rows: 600, metrics: { accuracy: 0.9 } },
          { name: 'origin=small', rows: 300, metrics: { accuracy: 0.6 } },
          { name: 'origin=tiny', rows: 20, metrics: { accuracy: 0.2 } },
        ],
        sliceGates: [{ metric: 'accuracy', min: 0.7, minRows: 100 }],
      }),
      viewer,
    );
    assert.match(html, /<td class="cm"[^>]*data-actual="b" data-predicted="a">5<\/td>/);
    assert.match(html, /class="bar-passed" data-slice="origin=large"/);
    assert.match(html, /class="bar-failed" data-slice="origin=small"/);
    assert.match(html, /class="bar-skipped" data-slice="origin=tiny"/);
    assert.match(html, /data-threshold="0.7"/);
  });

  test('values from the data (slice values, feature names) are escaped', () => {
    const html = evaluationPage(evaluation({ slices: [{ name: `origin=${HOSTILE}`, rows: 500, metrics: { rocAuc: 0.7 } }] }), viewer);
    assert.ok(!html.includes(HOSTILE));
    assert.ok(html.includes('origin=&#60;img src=x onerror=alert(1)&#62;'));
  });

  test('monitoring: realized performance over the windows, and reference against current per feature', () => {
    const feature = {
      name: HOSTILE,
      kind: 'numeric' as const,
      rows: 900,
      nullRate: { reference: 0, current: 0 },
      statistics: { psi: 0.31, jensenShannon: 0.2, wasserstein: 0.3, chiSquare: null, ks: null },
      reasons: ['psi 0.31 >= 0.25'],
      verdict: 'alert' as const,
      weight: 1,
      histogram: { bins: ['< 1', '[1, 2)', '>= 2'], reference: [30, 40, 30], current: [10, 30, 60] },
    };
    const view: MonitoringView = {
      model: 'm',
      windows: [
        { from: '2026-01-01T00:00:00.000Z', until: '2026-01-01T01:00:00.000Z', version: 1, verdict: 'ok', rocAuc: 0.71, estimatedRocAuc: 0.7, logLoss: 0.5, served: 1000, labelled: 400, performance: 'ok' },
        { from: '2026-01-01T01:00:00.000Z', until: '2026-01-01T02:00:00.000Z', version: 1, verdict: 'alert', rocAuc: 0.64, estimatedRocAuc: 0.69, logLoss: 0.58, served: 900, labelled: 350, performance: 'breach', performanceReasons: ['ROC AUC 0.640 vs baseline 0.716'] },
      ],
      report: { version: 1, from: '2026-01-01T01:00:00.000Z', until: '2026-01-01T02:00:00.000Z', rows: 900, judged: true, verdict: 'alert', driftShare: 1, features: [feature], score: null },
      retrainings: [{ version: 2, at: '2026-01-01T02:05:00.000Z', trigger: 'drift monitor: 2 of 3 windows alerted', workflowId: 'retrain-1', temporalUi: 'http://127.0.0.1:8233/namespaces/default/workflows/retrain-1' }],
      gaps: [],
    };
    const html = monitoringPage(view, viewer);
    assert.match(html, /data-series="ROC AUC" d="M[\d.]+ [\d.]+ L[\d.]+ [\d.]+"/, 'one ROC AUC point per window');
    assert.match(html, /data-series="estimated ROC AUC \(CBPE, from scores alone\)" d="M[\d.]+ [\d.]+ L[\d.]+ [\d.]+"/, 'the label-free estimate beside it');
    assert.match(html, /<td class="num">0\.6400<\/td><td class="num">0\.6900<\/td>/, 'the estimate in the window table');
    assert.equal((html.match(/<rect class="b[12]"/g) ?? []).length, 6, 'three bins, reference and current');
    assert.ok(!html.includes(HOSTILE));
    assert.match(html, /data-temporal-run="retrain-1"/);
  });

  test("rollouts: each step's health checks with the candidate's figures beside the champion's, and the split now", () => {
    const view: RolloutsView = {
      model: 'm',
      deployment: { workflowId: 'deploy-m', temporalUi: 'http://127.0.0.1:8233/namespaces/default/workflows/deploy-m', phase: 'canary', champion: 1 },
      split: { revision: 4, routes: [{ version: 1, route: 'primary', percent: 75 }, { version: 2, route: 'canary', percent: 25 }] },
      rollouts: [
        {
          version: 2,
          champion: 1,
          by: 'ana',
          startedAt: '2026-01-01T00:00:00.000Z',
          outcome: null,
          steps: [
            {
              kind: 'canary',
              percent: 5,
              startedAt: '2026-01-01T00:00:00.000Z',
              endedAt: '2026-01-01T00:30:00.000Z',
              checks: [{ at: '2026-01-01T00:30:00.000Z', verdict: 'healthy', whileBaking: false, reasons: [], figures: { psi: 0.04, candidate: { samples: 512, labelled: 130, auc: 0.712 }, champion: { samples: 9800, labelled: 2400, auc: 0.716 } } }],
            },
            { kind: 'canary', percent: 25, startedAt: '2026-01-01T00:30:00.000Z', endedAt: null, checks: [] },
          ],
        },
        {
          // An earlier try of the same version, rolled back by a check a minute into its bake.
          version: 2,
          champion: 1,
          by: 'ana',
          startedAt: '2025-12-31T00:00:00.000Z',
          outcome: { kind: 'rolled-back', at: '2025-12-31T00:01:01.000Z', by: 'sluice', reason: 'canary 5% breached while baking: error rate 1.0000 vs champion 0.0000 (rise > 0.01)' },
          steps: [
            {
              kind: 'canary',
              percent: 5,
              startedAt: '2025-12-31T00:00:00.000Z',
              endedAt: '2025-12-31T00:01:01.000Z',
              checks: [{ at: '2025-12-31T00:01:00.500Z', verdict: 'breach', whileBaking: true, reasons: ['error rate 1.0000 vs champion 0.0000 (rise > 0.01)'], figures: { candidate: { samples: 0, failed: 230, errorRate: 1 }, champion: { samples: 4400, failed: 0, errorRate: 0 } } }],
            },
          ],
        },
      ],
      gaps: [],
    };
    const html = rolloutsPage(view, viewer);
    assert.match(html, /<td>v2<\/td><td>canary<\/td><td class="num">25%<\/td>/);
    assert.match(html, /<td>auc<\/td><td class="num">0\.7120<\/td><td class="num">0\.7160<\/td>/);
    assert.match(html, /PSI 0\.0400/);
    assert.match(html, /canary 25%.*not judged yet/s);
    assert.match(html, /<span class="breach">breach<\/span> <span class="note">while baking, 2025-12-31T00:01:00\.500Z: error rate 1\.0000/);
    assert.match(html, /<td>errorRate<\/td><td class="num">1<\/td><td class="num">0<\/td>/);
    assert.doesNotMatch(html, /while baking, 2026-01-01T00:30/, 'the end of a bake is not marked');
  });
});
