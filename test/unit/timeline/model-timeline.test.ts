import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { buildTimeline, describeTrigger } from '../../../domain/timeline/model-timeline.ts';
import { renderTimelineHtml } from '../../../domain/timeline/timeline-html.ts';
import type { RolloutRecord } from '../../../shared/deployment.ts';
import { rolloutPlanSchema } from '../../../shared/deployment.ts';
import type { MonitorState } from '../../../shared/monitoring.ts';
import { type ModelIndex, type ModelManifest, modelManifestSchema } from '../../../shared/registry.ts';

const hash = (c: string) => c.repeat(64);
const manifest = (version: number, createdAt: string, trigger: Record<string, unknown>): ModelManifest =>
  modelManifestSchema.parse({
    name: 'flights',
    version,
    createdAt,
    datasetVersion: hash(String(version)),
    featureDefinitionHash: hash('f'),
    codeVersion: 'abc',
    trainer: { kind: 'gbdt', hyperparameters: {} },
    seed: 42,
    metrics: { rocAuc: 0.7 + version / 100, logLoss: 0.5, rows: 1000 },
    threshold: 0.5,
    featureNames: { numeric: ['distance'], categorical: [] },
    onnx: { key: 'k', sha256: hash('a'), bytes: 10 },
    origin: { workflowId: `train-flights-${version}`, trigger },
  });

const index: ModelIndex = {
  name: 'flights',
  latestVersion: 2,
  registrations: {},
  versions: {
    '1': {
      history: [
        { status: 'candidate', at: '2026-01-01T10:00:00.000Z', by: 'ana', reason: 'registered' },
        { status: 'approved', at: '2026-01-01T11:00:00.000Z', by: 'bo', reason: 'looks good' },
        { status: 'production', at: '2026-01-01T13:00:00.000Z', by: 'deploy', reason: '' },
      ],
    },
    '2': {
      history: [
        { status: 'candidate', at: '2026-01-05T10:00:00.000Z', by: 'drift-monitor', reason: 'registered' },
        { status: 'rejected', at: '2026-01-05T12:00:00.000Z', by: 'bo', reason: 'worse on <script>alert(1)</script> slice' },
      ],
    },
  },
  aliases: { champion: 1 },
  aliasHistory: [{ alias: 'champion', version: 1, at: '2026-01-01T13:00:00.000Z', by: 'deploy', reason: 'promoted' }],
};

const figures = (version: number) => ({ version, samples: 900, labelled: 400, p99LatencyMs: 3, auc: 0.7, logLoss: 0.5 });
const rollout: RolloutRecord = {
  version: 1,
  by: 'ana',
  reason: 'first release',
  plan: rolloutPlanSchema.parse({}),
  startedAt: '2026-01-01T12:00:00.000Z',
  steps: [
    {
      kind: 'canary',
      percent: 5,
      startedAt: '2026-01-01T12:00:00.000Z',
      endedAt: '2026-01-01T12:30:00.000Z',
      checks: [{ at: '2026-01-01T12:30:00.000Z', figures: { window: { from: '2026-01-01T12:00:00.000Z', to: '2026-01-01T12:30:00.000Z' }, route: 'canary', candidate: figures(1), champion: figures(0), psi: 0.01 }, verdict: 'healthy', reasons: [] }],
    },
  ],
  events: [],
  outcome: { kind: 'promoted', at: '2026-01-01T13:00:00.000Z', by: 'deploy', reason: 'all steps healthy' },
};

const monitor: MonitorState = {
  model: 'flights',
  windows: [
    { until: '2026-01-04T10:00:00.000Z', version: 1, verdict: 'alert', rocAuc: 0.61 },
    {
      until: '2026-01-04T11:00:00.000Z',
      from: '2026-01-04T10:00:00.000Z',
      version: 1,
      verdict: 'ok',
      rocAuc: 0.648,
      logLoss: 0.61,
      served: 20_000,
      labelled: 5000,
      performance: 'breach',
      performanceReasons: ['ROC AUC 0.648 vs baseline 0.716 (drop 0.068 > 0.02)'],
      labelsAsOf: '2026-01-05T11:00:00.000Z',
      labelsFinal: false,
    },
  ],
  scoreBaseline: null,
  lastRetrain: { at: '2026-01-05T09:00:00.000Z', workflowId: 'train-flights-2' },
};

const timeline = buildTimeline({
  model: 'flights',
  index,
  manifests: [
    manifest(2, '2026-01-05T10:00:00.000Z', { kind: 'drift-monitor', reason: '2 of the last 3 windows alerted', requestedBy: 'drift-monitor' }),
    manifest(1, '2026-01-01T10:00:00.000Z', { kind: 'manual', reason: 'first model', requestedBy: 'ana' }),
  ],
  rollouts: [rollout],
  monitor,
  gaps: [],
  now: new Date('2026-01-06T00:00:00.000Z'),
});

describe('model timeline', () => {
  test('every recorded fact becomes one event, in time order', () => {
    const kinds = timeline.events.map((e) => `${e.kind}:${e.version ?? '-'}`);
    assert.deepEqual(kinds, [
      'registered:1',
      'status:1',
      'rollout:1',
      'rollout-step:1',
      'status:1',
      'alias:1',
      'rollout-outcome:1',
      'drift-window:1',
      'drift-window:1',
      'retraining:-',
      'registered:2',
      'status:2',
    ]);
    for (let i = 1; i < timeline.events.length; i++) assert.ok(timeline.events[i - 1]!.at <= timeline.events[i]!.at);
  });

  test('a judged window shows its realized figures, its labels\' completeness and a performance breach', () => {
    const windows = timeline.events.filter((e) => e.kind === 'drift-window');
    assert.deepEqual(windows.map((e) => [e.title, e.verdict]), [
      ['drift alert (v1)', 'alert'],
      ['drift ok, performance breach (v1)', 'breach'],
    ]);
    assert.equal(windows[0]?.detail, 'window ending 2026-01-04T10:00:00.000Z; ROC AUC 0.6100');
    assert.equal(
      windows[1]?.detail,
      'window ending 2026-01-04T11:00:00.000Z; ROC AUC 0.6480, log loss 0.6100; labels 5000/20000 (25.0%), maturing, labels as of 2026-01-05T11:00:00.000Z; breach: ROC AUC 0.648 vs baseline 0.716 (drop 0.068 > 0.02)',
    );
  });

  test('versions carry their trigger, requester and decisions', () => {
    assert.deepEqual(timeline.versions.map((v) => [v.version, v.status, v.trigger, v.requestedBy]), [
      [1, 'production', 'manual: first model', 'ana'],
      [2, 'rejected', 'drift monitor: 2 of the last 3 windows alerted', 'drift-monitor'],
    ]);
    assert.deepEqual(timeline.versions[0]?.approvals.map((a) => `${a.status} ${a.by}`), ['approved bo']);
    assert.equal(timeline.versions[0]?.endedAt, undefined, 'the champion still serves');
    assert.equal(timeline.versions[1]?.endedAt, '2026-01-05T12:00:00.000Z', 'a rejected version ends at its rejection');
    assert.equal(timeline.champion, 1);
  });

  test('triggers of every kind are described', () => {
    assert.equal(describeTrigger({ kind: 'schedule', scheduleId: 'retrain-flights' }), 'schedule retrain-flights');
    assert.equal(describeTrigger(undefined), 'unknown');
    assert.equal(describeTrigger({ kind: 'webhook' }), 'webhook');
  });

  const dir = mkdtempSync(join(tmpdir(), 'sluice-timeline-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the HTML page is self-contained, escapes recorded text, and renders in headless Chromium', async () => {
    const html = renderTimelineHtml(timeline);
    assert.ok(!/<script|https?:\/\/|<link|@import/.test(html), 'the page is self-contained and escapes recorded text');
    assert.ok(html.includes('&#60;script&#62;alert(1)&#60;/script&#62;'));
    const chromium = '/usr/bin/chromium';
    assert.ok(existsSync(chromium), 'chromium is not installed: apt-get install chromium');
    const page = join(dir, 'timeline.html');
    writeFileSync(page, html);
    const shot = join(dir, 'timeline.png');
    const run = promisify(execFile);
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', `--user-data-dir=${join(dir, 'chromium')}`, '--window-size=1200,1600'];
    await run(chromium, [...args, `--screenshot=${shot}`, `file://${page}`], { timeout: 60_000 });
    assert.ok(statSync(shot).size > 10_000, 'a screenshot was written');
    const { stdout } = await run(chromium, [...args, '--dump-dom', `file://${page}`], { timeout: 60_000, maxBuffer: 16 << 20 });
    assert.equal((stdout.match(/<li class="event /g) ?? []).length, timeline.events.length);
    assert.match(stdout, /<tr id="version-1"><td>v1 <span class="badge">champion<\/span>/);
    assert.equal((stdout.match(/<circle /g) ?? []).length, timeline.events.filter((e) => e.version !== undefined).length);
    assert.ok(!stdout.includes('<script>'), 'recorded text did not become markup');
  });
});
