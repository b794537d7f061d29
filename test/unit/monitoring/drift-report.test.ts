import assert from 'node:assert/strict';
import { summarise } from '../../../activities/monitoring/monitoring-activities.ts';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { openDuckDb, type DuckDbSession } from '../../../domain/duckdb/duckdb-session.ts';
import { renderDriftHtml } from '../../../domain/monitoring/drift-html.ts';
import { buildDriftReport, categoricalDrift } from '../../../domain/monitoring/drift-report.ts';
import { countWindow, windowPerformance } from '../../../domain/monitoring/window-counts.ts';
import type { LabelTask } from '../../../shared/data/feature-spec.ts';
import type { ReferenceStats } from '../../../shared/data/feature-tables.ts';
import { driftReportSchema, driftThresholdsSchema } from '../../../shared/monitoring.ts';
import { featureNamesOf, type SyntheticShape, writePredictionLog, writeReferenceSplit } from './synthetic-log.ts';

const thresholds = driftThresholdsSchema.parse({});
const shape: SyntheticShape = { rows: 20_000, numeric: 3, categorical: 2 };
const names = featureNamesOf(shape);
const featureNames = [...names.numeric, ...names.categorical];
const window = { from: '2026-01-01T00:00:00.000Z', until: '2026-01-02T00:00:00.000Z' };

describe('drift report over a logged window (DuckDB)', () => {
  let dir: string;
  let session: DuckDbSession;
  let reference: ReferenceStats;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-drift-test-'));
    session = await openDuckDb({ tempDirectory: dir });
    reference = await writeReferenceSplit(session.db, join(dir, 'ref.parquet'), shape);
    await writePredictionLog(session.db, join(dir, 'same.parquet'), { ...shape, seed: 0.11 }, { model: 'm', version: 1, from: window.from });
    await writePredictionLog(session.db, join(dir, 'shifted.parquet'), { ...shape, seed: 0.12, shift: 1, skew: 3 }, { model: 'm', version: 1, from: window.from });
  });
  after(() => {
    session[Symbol.dispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  const judge = async (file: string, filter = { version: 1, ...window }, scoreBaseline?: number[]) => {
    const counts = await countWindow(session.db, [join(dir, file)], filter, reference, featureNames);
    return { counts, report: buildDriftReport({ model: 'm', version: 1, window, reference, featureNames, counts, scoreBaseline, thresholds, seconds: 0 }) };
  };

  test('a fresh sample of the reference distribution does not drift', async () => {
    const { report, counts } = await judge('same.parquet');
    driftReportSchema.parse(report);
    assert.equal(report.rows, 20_000);
    assert.equal(report.judged, true);
    assert.equal(report.verdict, 'ok', JSON.stringify(report.features.map((f) => [f.name, f.reasons])));
    assert.deepEqual(report.drifted, []);
    // Bin counts add up to the non-NULL values (every 50th numeric value is NULL).
    const x0 = counts.numeric.x0;
    assert.ok(x0);
    assert.equal(x0.bins.reduce((a, b) => a + b, 0), x0.present);
    assert.equal(x0.present, 20_000 - 400);
    for (const f of report.features) assert.ok(f.statistics.psi < 0.01, `${f.name} PSI ${f.statistics.psi}`);
  });

  test('shifted numerics and skewed categories alert, and the dataset drifts', async () => {
    const { report } = await judge('shifted.parquet');
    assert.equal(report.verdict, 'alert');
    assert.deepEqual(report.drifted.sort(), featureNames.slice().sort());
    assert.equal(report.driftShare, 1);
    const x0 = report.features.find((f) => f.name === 'x0');
    // A shift of one reference std moves the mass by about one std: Wasserstein/std near 1.
    assert.ok(x0?.statistics.wasserstein !== null && x0?.statistics.wasserstein !== undefined && x0.statistics.wasserstein > 0.7, JSON.stringify(x0?.statistics));
    assert.ok(x0.reasons.some((r) => r.startsWith('PSI')));
  });

  test('a window below the minimum size is counted but not judged; a small one falls back to KS', async () => {
    const few = { version: 1, from: window.from, until: '2026-01-01T00:05:00.000Z' }; // 300 rows
    const { report } = await judge('shifted.parquet', few);
    assert.equal(report.rows, 300);
    assert.equal(report.judged, false);
    assert.equal(report.verdict, 'ok');
    const x0 = report.features.find((f) => f.name === 'x0');
    assert.equal(x0?.verdict, 'alert');
    assert.ok(x0.reasons[0]?.startsWith('KS'), x0.reasons.join());
  });

  test('another version in the same files is left out', async () => {
    const { report } = await judge('same.parquet', { version: 2, ...window });
    assert.equal(report.rows, 0);
    assert.equal(report.judged, false);
  });

  test('the score is judged against a baseline window', async () => {
    const baseline = (await judge('same.parquet')).counts.score;
    assert.equal(baseline.reduce((a, b) => a + b, 0), 20_000);
    const { report } = await judge('shifted.parquet', { version: 1, ...window }, baseline);
    assert.equal(report.score?.verdict, 'alert');
  });

  test('a category the reference never saw lands in (other) and raises chi-square', () => {
    const ref: Extract<ReferenceStats['features'][number], { kind: 'categorical' }> = {
      name: 'c',
      kind: 'categorical',
      rows: 1000,
      nullCount: 0,
      nullRate: 0,
      distinct: 2,
      top: [
        { value: 'a', count: 600, frequency: 0.6 },
        { value: 'b', count: 400, frequency: 0.4 },
      ],
      otherCount: 0,
      otherFrequency: 0,
    };
    const drift = categoricalDrift(ref, { present: 2000, counts: { a: 1000, b: 600, z: 400 } }, 2000, thresholds);
    assert.deepEqual(drift.histogram, { bins: ['a', 'b', '(other)'], reference: [600, 400, 0], current: [1000, 600, 400] });
    assert.equal(drift.verdict, 'alert');
    assert.ok(drift.statistics.chiSquare && drift.statistics.chiSquare.pValue < 1e-10);
  });

  test('performance: AUC with tied scores and log loss from feedback joined by request id', async () => {
    const log = join(dir, 'perf.parquet');
    await session.db.run(`COPY (SELECT request_id, event_index, '2026-01-01T01:00:00Z'::TIMESTAMPTZ AS predicted_at, 1 AS model_version, score
      FROM (VALUES ('r1', 0, 0.9::FLOAT), ('r2', 0, 0.8::FLOAT), ('r3', 0, 0.8::FLOAT), ('r4', 0, 0.1::FLOAT), ('r5', 0, 0.5::FLOAT)) v(request_id, event_index, score)) TO '${log}' (FORMAT parquet)`);
    const labels = join(dir, 'labels.jsonl');
    // r5 has no label; r2 and r3 tie at 0.8 with opposite labels.
    writeFileSync(labels, ['r1', 'r2', 'r3', 'r4'].map((id, i) => JSON.stringify({ request_id: id, event_index: 0, label: [true, true, false, false][i] })).join('\n'));
    const perf = await windowPerformance(session.db, [log], [labels], { model: 'm', version: 1, ...window }, { kind: 'binary' });
    assert.equal(perf.labelled, 4);
    assert.equal(perf.positives, 2);
    // positive pairs (r1>r3, r1>r4, r2=r3 → ½, r2>r4) = 3.5 of 4
    assert.equal(perf.rocAuc, 0.875);
    const expected = -(Math.log(0.9) + Math.log(Math.fround(0.8)) + Math.log(1 - Math.fround(0.8)) + Math.log(1 - Math.fround(0.1))) / 4;
    assert.ok(Math.abs((perf.logLoss ?? 0) - expected) < 1e-6, `${perf.logLoss} vs ${expected}`);
  });

  test('prediction drift of a regression model: values on the baseline window\'s deciles; of a multiclass model: served-class shares', async () => {
    const write = async (name: string, select: string) => {
      const path = join(dir, name);
      await session.db.run(`COPY (SELECT 'r' || i AS request_id, 0 AS event_index, '2026-01-01T01:00:00Z'::TIMESTAMPTZ AS predicted_at, 1 AS model_version, ${select}
        FROM range(2000) t(i)) TO '${path}' (FORMAT parquet)`);
      return [path];
    };
    const filter = { version: 1, ...window };
    const regression = { kind: 'regression' } as const;
    // Delay minutes 0..199 in the baseline; the same plus 40 later: the top decile fills up.
    const first = await countWindow(session.db, await write('minutes-a.parquet', '(i % 200)::FLOAT AS value, value AS score'), filter, reference, [], { task: regression });
    assert.deepEqual(first.scoreEdges, [19, 39, 59, 79, 99, 119, 139, 159, 179]);
    // Reference-bin convention: x < edge falls below it, so the first bin holds 0..18 and the last 179..199.
    assert.deepEqual(first.score, [190, 200, 200, 200, 200, 200, 200, 200, 200, 210]);
    const later = await countWindow(session.db, await write('minutes-b.parquet', '(i % 200 + 40)::FLOAT AS value, value AS score'), filter, reference, [], { task: regression, scoreEdges: first.scoreEdges });
    assert.deepEqual(later.score, [0, 0, 190, 200, 200, 200, 200, 200, 200, 610]);
    const report = buildDriftReport({ model: 'm', version: 1, window, reference, featureNames: [], counts: later, scoreBaseline: first.score, task: regression, thresholds, seconds: 0 });
    assert.equal(report.score?.name, 'value');
    assert.equal(report.score?.histogram.bins[0], '< 19');
    assert.equal(report.score?.verdict, 'alert');
    assert.match(report.score?.reasons[0] ?? '', /^value PSI \d/);

    const multiclass = { kind: 'multiclass', classes: ['early', 'on-time', 'late'] } as const satisfies LabelTask;
    const probabilities = (late: string) => `{'early': (0.9 - ${late}) / 2, 'on-time': (0.9 - ${late}) / 2 + 0.1, 'late': ${late}}::STRUCT("early" FLOAT, "on-time" FLOAT, "late" FLOAT) AS probabilities`;
    const classes = await countWindow(session.db, await write('classes.parquet', `['early', 'on-time', 'late'][i % 4 % 3 + 1] AS class, 0.5::FLOAT AS score, ${probabilities('(i % 10) / 40')}`), filter, reference, [], { task: { ...multiclass, classes: [...multiclass.classes] } });
    assert.deepEqual(classes.score, [1000, 500, 500]);
    // P(late) = (i % 10) / 40: 0-0.075 in the first bin, 0.1-0.175 in the second, 0.2 and 0.225 in the third.
    assert.deepEqual(classes.classProbabilities?.[2], [800, 800, 400, 0, 0, 0, 0, 0, 0, 0]);
    const classReport = buildDriftReport({ model: 'm', version: 1, window, reference, featureNames: [], counts: classes, scoreBaseline: [500, 1000, 500], task: { ...multiclass, classes: [...multiclass.classes] }, thresholds, seconds: 0 });
    assert.deepEqual(classReport.score?.histogram.bins, ['early', 'on-time', 'late']);
    assert.equal(classReport.score?.name, 'class');
    assert.ok((classReport.score?.statistics.psi ?? 0) > 0.25 && classReport.score?.statistics.wasserstein === null);
    assert.ok(renderDriftHtml(classReport).includes('id="feature-class"'));
    assert.equal(classReport.classProbabilities, undefined, 'no baseline of class probabilities: not judged');

    // The same served classes later, but P(late) doubled: the shares stay, the late class's probability moves.
    const later2 = await countWindow(session.db, await write('classes-later.parquet', `['early', 'on-time', 'late'][i % 4 % 3 + 1] AS class, 0.5::FLOAT AS score, ${probabilities('(i % 10) / 20')}`), filter, reference, [], { task: { ...multiclass, classes: [...multiclass.classes] } });
    const moved = buildDriftReport({ model: 'm', version: 1, window, reference, featureNames: [], counts: later2, scoreBaseline: classes.score, classProbabilityBaseline: classes.classProbabilities, task: { ...multiclass, classes: [...multiclass.classes] }, thresholds, seconds: 0 });
    assert.equal(moved.score?.verdict, 'ok', 'the served classes did not move');
    assert.deepEqual(moved.classProbabilities?.map((c) => c.name), ['P(early)', 'P(on-time)', 'P(late)']);
    const late = moved.classProbabilities?.[2];
    assert.equal(late?.verdict, 'alert', JSON.stringify(late?.statistics));
    assert.equal(moved.verdict, 'warn', 'a class probability moving is a signal, not a dataset alert');
    assert.deepEqual(summarise(moved, 'k', 'h').worstClassProbability, { class: 'late', psi: late?.statistics.psi, verdict: 'alert' });
    assert.ok(renderDriftHtml(moved).includes('P(late)'));
  });

  test('performance of a regression model: RMSE and MAE of `value` against numeric labels; labels of another kind or model ignored', async () => {
    const log = join(dir, 'perf-regression.parquet');
    await session.db.run(`COPY (SELECT request_id, event_index, '2026-01-01T01:00:00Z'::TIMESTAMPTZ AS predicted_at, 1 AS model_version, value AS score, value
      FROM (VALUES ('r1', 0, 10.0::FLOAT), ('r2', 0, 20.0::FLOAT), ('r3', 0, 30.0::FLOAT), ('r4', 0, 5.0::FLOAT)) v(request_id, event_index, value)) TO '${log}' (FORMAT parquet)`);
    const labels = join(dir, 'labels-regression.jsonl');
    writeFileSync(
      labels,
      [
        { request_id: 'r1', event_index: 0, label: 12, model: 'm' },
        { request_id: 'r2', event_index: 0, label: 17.5 },
        { request_id: 'r3', event_index: 0, label: 30 },
        // A boolean (binary feedback) is not a regression label, nor is another model's number.
        { request_id: 'r4', event_index: 0, label: true },
        { request_id: 'r4', event_index: 0, label: 100, model: 'other' },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n'),
    );
    const perf = await windowPerformance(session.db, [log], [labels], { model: 'm', version: 1, ...window }, { kind: 'regression' });
    assert.equal(perf.labelled, 3);
    assert.equal(perf.rocAuc, null);
    assert.ok(Math.abs((perf.mae ?? 0) - (2 + 2.5 + 0) / 3) < 1e-9, `mae ${perf.mae}`);
    assert.ok(Math.abs((perf.rmse ?? 0) - Math.sqrt((4 + 6.25) / 3)) < 1e-9, `rmse ${perf.rmse}`);
  });

  test('performance of a multiclass model: log loss of the label class probability and accuracy of the served class', async () => {
    const log = join(dir, 'perf-multiclass.parquet');
    await session.db.run(`COPY (SELECT request_id, 0 AS event_index, '2026-01-01T01:00:00Z'::TIMESTAMPTZ AS predicted_at, 1 AS model_version, p AS score, cls AS class,
        {'early': pe::FLOAT, 'on-time': po::FLOAT, 'late': pl::FLOAT} AS probabilities
      FROM (VALUES ('r1', 'on-time', 0.7, 0.2, 0.7, 0.1), ('r2', 'late', 0.6, 0.1, 0.3, 0.6), ('r3', 'early', 0.5, 0.5, 0.25, 0.25), ('r4', 'late', 0.9, 0.05, 0.05, 0.9))
        v(request_id, cls, p, pe, po, pl)) TO '${log}' (FORMAT parquet)`);
    const labels = join(dir, 'labels-multiclass.jsonl');
    writeFileSync(
      labels,
      [
        { request_id: 'r1', event_index: 0, label: 'on-time' },
        { request_id: 'r2', event_index: 0, label: 'on-time' },
        { request_id: 'r3', event_index: 0, label: 'early' },
        // Not one of the model's classes: not counted.
        { request_id: 'r4', event_index: 0, label: 'cancelled' },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n'),
    );
    const perf = await windowPerformance(session.db, [log], [labels], { model: 'm', version: 1, ...window }, { kind: 'multiclass', classes: ['early', 'on-time', 'late'] });
    assert.equal(perf.labelled, 3);
    assert.equal(perf.accuracy, 2 / 3);
    const expected = -(Math.log(Math.fround(0.7)) + Math.log(Math.fround(0.3)) + Math.log(0.5)) / 3;
    assert.ok(Math.abs((perf.logLoss ?? 0) - expected) < 1e-9, `${perf.logLoss} vs ${expected}`);
  });

  test('the HTML page renders in headless Chromium and carries the verdicts', async () => {
    const chromium = '/usr/bin/chromium';
    // .ci/run installs it; a missing browser is a setup error to fix, not a reason to pass silently.
    assert.ok(existsSync(chromium), 'chromium is not installed: apt-get install chromium');
    const { report } = await judge('shifted.parquet');
    const html = renderDriftHtml(report);
    assert.match(html, /Verdict: <span class="verdict"[^>]*>alert<\/span>/);
    for (const f of report.features) assert.ok(html.includes(`id="feature-${f.name}"`));
    assert.ok(!/<script|https?:\/\//.test(html), 'the page is self-contained');
    const page = join(dir, 'drift.html');
    writeFileSync(page, html);
    const shot = join(dir, 'drift.png');
    const run = promisify(execFile);
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', `--user-data-dir=${join(dir, 'chromium')}`, '--window-size=1200,2400'];
    await run(chromium, [...args, `--screenshot=${shot}`, `file://${page}`], { timeout: 60_000 });
    assert.ok(statSync(shot).size > 10_000, 'a screenshot was written');
    const { stdout } = await run(chromium, [...args, '--dump-dom', `file://${page}`], { timeout: 60_000, maxBuffer: 16 << 20 });
    assert.match(stdout, /Verdict: <span[^>]*>alert<\/span>/);
    assert.equal((stdout.match(/<span class="verdict"[^>]*>alert<\/span>/g) ?? []).length, 1 + report.features.length);
  });
});
