import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDeploymentActivities } from '../../../activities/deployment/deployment-activities.ts';
import { type MonitoringActivities, createMonitoringActivities } from '../../../activities/monitoring/monitoring-activities.ts';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { feedbackKeys, hourPartition, predictionLogKeys, versionTag } from '../../../shared/api/prediction-log.ts';
import type { LabelTask } from '../../../shared/data/feature-spec.ts';
import { healthThresholdsSchema, judgeHealth } from '../../../shared/deployment.ts';
import { type RealizedPerformance, type RealizedPerformanceInput, driftMonitorInputSchema, judgeWindowPerformance } from '../../../shared/monitoring.ts';
import { scratchDuckDbForSuite } from '../../support/scratch-duckdb.ts';
import { stackConfig } from '../../support/stack.ts';
import { isolatedConfig } from '../api/minio-support.ts';

/**
 * Canary judgement and the drift monitor's realized performance for regression and multiclass
 * models on real MinIO and DuckDB: prediction-log Parquet files written in the per-kind shape of the
 * log contract (regression `value`; multiclass `class` and a `probabilities` struct of one field per
 * class), feedback JSON lines with numeric and class labels, both read back by the activities the
 * workers register. The expected figures are computed here from the same rows.
 */

const store = MinioArtifactStore.fromConfig(stackConfig().minio);
const ROWS = 400;
const CLASSES = ['early', 'on-time', 'late'];
/** Deterministic pseudo-noise in [-1, 1), the same in SQL and here. */
const noise = (i: number) => ((i * 7919) % 1000) / 500 - 1;
const noiseSql = (i: string) => `(((${i} * 7919) % 1000) / 500 - 1)`;

/** The activity inside an activity context (it heartbeats its progress). */
function realize(activities: MonitoringActivities, input: RealizedPerformanceInput): Promise<RealizedPerformance> {
  return new MockActivityEnvironment().run<[RealizedPerformanceInput], RealizedPerformance, (i: RealizedPerformanceInput) => Promise<RealizedPerformance>>((i) => activities.realizedPerformance(i), input);
}

describe('rollout health and realized performance per label kind', () => {
  const scratch = scratchDuckDbForSuite('sluice-kinds-health-');
  // The window is recent: the judge reads feedback hours from the window's start until now.
  const from = new Date(Date.now() - 10 * 60_000).toISOString();
  const to = new Date().toISOString();
  const hour = hourPartition(Date.parse(from));

  async function register(registry: ModelRegistry, model: string, task: LabelTask, metrics: Record<string, number>) {
    const { version } = await registry.register({
      manifest: {
        name: model,
        datasetVersion: 'b'.repeat(64),
        featureDefinitionHash: 'a'.repeat(64),
        codeVersion: 'test',
        trainer: { kind: 'gbdt', hyperparameters: {} },
        seed: 1,
        metrics,
        task,
        threshold: 0.5,
        featureNames: { numeric: ['distance'], categorical: [] },
        origin: { workflowId: `test-${model}-${Object.keys(metrics).join()}-${JSON.stringify(metrics)}` },
      },
      onnx: Buffer.from('not read by the judges'),
      registrationKey: `test-${JSON.stringify(metrics)}`,
      by: 'test',
    });
    return version;
  }

  /** One log file of `version` on `route`, `extra` the kind's columns (SQL over i), uploaded to the predictions bucket. */
  async function logVersion(bucket: string, model: string, version: number, route: string, extra: string, score: string) {
    const path = join(scratch.dir, `${model}-${version}.parquet`);
    await scratch.db.run(`COPY (
      SELECT 'req-' || i AS request_id, 0 AS event_index, ${`'${from}'`}::TIMESTAMPTZ + to_milliseconds(k * 100) AS predicted_at,
        '${model}' AS model, ${version}::INTEGER AS model_version, '${route}' AS route, NULL::VARCHAR AS routing_key,
        (${score})::FLOAT AS score, ${extra}, 2.0 AS latency_ms, {'distance': (100 + i)::DOUBLE} AS features
      FROM (SELECT k, k + ${version * 100_000} AS i FROM range(${ROWS}) t(k))
    ) TO '${path}' (FORMAT parquet)`);
    await store.putFile(bucket, predictionLogKeys.file(model, hour, `${versionTag(version)}-${Date.now()}-test`), path);
  }

  async function feedback(bucket: string, name: string, lines: object[]) {
    const path = join(scratch.dir, `${name}.jsonl`);
    await writeFile(path, lines.map((l) => JSON.stringify(l)).join('\n'));
    await store.putFile(bucket, feedbackKeys.file(hour, name), path);
  }

  test('a regression canary with a 30% higher MAE is rolled back on the real log; the monitor judges RMSE and MAE against the test figures', async () => {
    const config = await isolatedConfig(store);
    const registry = new ModelRegistry(store, config.buckets.models);
    const model = `minutes-${Date.now().toString(36)}`;
    const task: LabelTask = { kind: 'regression' };
    const champion = await register(registry, model, task, { rmse: 4, mae: 2 });
    const candidate = await register(registry, model, task, { rmse: 4.1, mae: 2.1 });
    // label = 20 + 10·noise(i); the champion errs by 4·noise(i+17), the candidate by 5.2·noise(i+17).
    const value = (error: number) => `20 + 10 * ${noiseSql('i')} + ${error} * ${noiseSql('(i + 17)')}`;
    await logVersion(config.buckets.predictions, model, champion, 'primary', `(${value(4)})::FLOAT AS value`, value(4));
    await logVersion(config.buckets.predictions, model, candidate, 'canary', `(${value(5.2)})::FLOAT AS value`, value(5.2));
    const labels = [champion, candidate].flatMap((v) =>
      Array.from({ length: ROWS }, (_, k) => ({ request_id: `req-${k + v * 100_000}`, event_index: 0, label: 20 + 10 * noise(k + v * 100_000), model })),
    );
    // Boolean labels (the shared binary route) for the same requests are not regression labels.
    await feedback(config.buckets.predictions, `bools-${model}`, labels.slice(0, 50).map((l) => ({ ...l, label: true, model: undefined })));
    await feedback(config.buckets.predictions, `labels-${model}`, labels);

    const figures = await createDeploymentActivities({ store, buckets: config.buckets }).measureRolloutHealth({ model, candidate, champion, route: 'canary', from, to });
    const expected = (version: number, error: number) => {
      const errors = Array.from({ length: ROWS }, (_, k) => {
        const i = k + version * 100_000;
        const label = 20 + 10 * noise(i);
        return Math.fround(label + error * noise(i + 17)) - label;
      });
      return { mae: errors.reduce((s, e) => s + Math.abs(e), 0) / ROWS, rmse: Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / ROWS) };
    };
    const close = (a: number | undefined, b: number) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${a} vs ${b}`);
    assert.equal(figures.task, 'regression');
    assert.equal(figures.candidate.labelled, ROWS);
    assert.equal(figures.champion.labelled, ROWS);
    close(figures.champion.mae, expected(champion, 4).mae);
    close(figures.champion.rmse, expected(champion, 4).rmse);
    close(figures.candidate.mae, expected(candidate, 5.2).mae);
    assert.equal(figures.candidate.auc, undefined);
    assert.equal(figures.histograms?.bins?.length, 10);
    assert.ok(figures.psi !== undefined && figures.psi < 0.25, `same label distribution, psi ${figures.psi}`);
    const judgement = judgeHealth(figures, healthThresholdsSchema.parse({ minSamples: 100 }));
    assert.equal(judgement.verdict, 'breach');
    assert.deepEqual(judgement.reasons.map((r) => r.replace(/\d+\.\d+%/, 'N%').replace(/\d+\.\d{4}/g, 'N')), ['RMSE N vs champion N (rise N% > 10.0%)', 'MAE N vs champion N (rise N% > 10.0%)']);

    // The monitor's realized performance of the champion's window, against its evaluated test RMSE 4 and MAE 2.
    const monitoring = createMonitoringActivities({ store, buckets: config.buckets });
    const realized = await realize(monitoring, { model, version: champion, asOf: new Date().toISOString(), labelHorizonMs: 3_600_000, windows: [{ from, until: to }] });
    assert.deepEqual(realized.baseline, { rocAuc: null, logLoss: null, rmse: 4, mae: 2 });
    const window = realized.windows[0];
    assert.ok(window);
    assert.equal(window.labelled, ROWS);
    close(window.rmse ?? undefined, expected(champion, 4).rmse);
    close(window.mae ?? undefined, expected(champion, 4).mae);
    const limits = driftMonitorInputSchema.parse({ model }).performance;
    const verdict = judgeWindowPerformance(window, realized.baseline, limits);
    // MAE of 4·noise is ~2: within 10% of 2; RMSE ~2.3 is below 4.
    assert.deepEqual(verdict, { performance: 'ok', performanceReasons: [] });
    const worse = judgeWindowPerformance(window, { ...realized.baseline, mae: 1.5 }, limits);
    assert.match(worse.performanceReasons.join(), /^MAE \d\.\d{3} vs baseline 1\.500 \(rise \d+\.\d% > 10\.0%\)$/);
  });

  test('a multiclass canary whose accuracy drops is rolled back; the monitor judges log loss and accuracy', async () => {
    const config = await isolatedConfig(store);
    const registry = new ModelRegistry(store, config.buckets.models);
    const model = `delay-class-${Date.now().toString(36)}`;
    const task: LabelTask = { kind: 'multiclass', classes: CLASSES };
    const champion = await register(registry, model, task, { logLoss: 0.6, accuracy: 0.9 });
    const candidate = await register(registry, model, task, { logLoss: 0.61, accuracy: 0.89 });
    // The label is class i % 3; a version serves the next class every `wrongEvery`-th row, with probability 0.7 for what it serves.
    const served = (wrongEvery: number) => `CASE WHEN i % ${wrongEvery} = 0 THEN (i + 1) % 3 ELSE i % 3 END`;
    const columns = (wrongEvery: number) =>
      `[${CLASSES.map((c) => `'${c}'`).join(', ')}][${served(wrongEvery)} + 1] AS class, {${CLASSES.map((c, k) => `'${c}': (CASE WHEN ${served(wrongEvery)} = ${k} THEN 0.7 ELSE 0.15 END)::FLOAT`).join(', ')}} AS probabilities`;
    await logVersion(config.buckets.predictions, model, champion, 'primary', columns(10), '0.7');
    await logVersion(config.buckets.predictions, model, candidate, 'canary', columns(4), '0.7');
    await feedback(
      config.buckets.predictions,
      `labels-${model}`,
      [champion, candidate].flatMap((v) => Array.from({ length: ROWS }, (_, k) => ({ request_id: `req-${k + v * 100_000}`, event_index: 0, label: CLASSES[(k + v * 100_000) % 3], model }))),
    );

    const figures = await createDeploymentActivities({ store, buckets: config.buckets }).measureRolloutHealth({ model, candidate, champion, route: 'canary', from, to });
    const wrong = (version: number, wrongEvery: number) => Array.from({ length: ROWS }, (_, k) => k + version * 100_000).filter((i) => i % wrongEvery === 0).length;
    const logLoss = (w: number) => -((ROWS - w) * Math.log(Math.fround(0.7)) + w * Math.log(Math.fround(0.15))) / ROWS;
    assert.equal(figures.task, 'multiclass');
    assert.equal(figures.champion.accuracy, 1 - wrong(champion, 10) / ROWS);
    assert.equal(figures.candidate.accuracy, 1 - wrong(candidate, 4) / ROWS);
    assert.ok(Math.abs((figures.candidate.logLoss ?? 0) - logLoss(wrong(candidate, 4))) < 1e-9, `${figures.candidate.logLoss}`);
    assert.deepEqual(figures.histograms?.bins, CLASSES);
    assert.equal(figures.histograms?.candidate.reduce((a, b) => a + b, 0), ROWS);
    assert.ok(figures.worstClassPsi && CLASSES.includes(figures.worstClassPsi.class));
    const judgement = judgeHealth(figures, healthThresholdsSchema.parse({ minSamples: 100 }));
    assert.equal(judgement.verdict, 'breach');
    assert.ok(judgement.reasons.some((r) => /^accuracy 0\.7\d{3} vs champion 0\.9\d{3} \(drop > 0\.02\)$/.test(r)), judgement.reasons.join('; '));
    assert.ok(judgement.reasons.some((r) => r.startsWith('log-loss ')), judgement.reasons.join('; '));

    const realized = await realize(createMonitoringActivities({ store, buckets: config.buckets }), {
      model,
      version: candidate,
      asOf: new Date().toISOString(),
      labelHorizonMs: 3_600_000,
      windows: [{ from, until: to }],
    });
    assert.deepEqual(realized.baseline, { rocAuc: null, logLoss: 0.61, accuracy: 0.89 });
    const window = realized.windows[0];
    assert.ok(window);
    assert.equal(window.accuracy, figures.candidate.accuracy);
    const verdict = judgeWindowPerformance(window, realized.baseline, driftMonitorInputSchema.parse({ model }).performance);
    assert.equal(verdict.performance, 'breach');
    assert.match(verdict.performanceReasons.join('; '), /log loss \d\.\d{3} vs baseline 0\.610 .*; accuracy 0\.7\d{2} vs baseline 0\.890 \(drop 0\.1\d{2} > 0\.02\)/);
  });
});
