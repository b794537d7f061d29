import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { quoteString } from '../../../domain/features/expression/expression-sql.ts';
import { computeReferenceStats } from '../../../domain/features/reference-stats.ts';
import { openDuckDb } from '../../../domain/duckdb/duckdb-session.ts';
import { upsertDriftMonitorSchedule } from '../../../control/monitor-schedule.ts';
import { createMonitoringActivities } from '../../../activities/monitoring/monitoring-activities.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { OnlineFeatureAssemblers } from '../../../api/features/online-feature-assembler.ts';
import { StoredFeatureDefinitions } from '../../../api/features/stored-feature-definitions.ts';
import { predictionLogKeys } from '../../../shared/api/prediction-log.ts';
import { createLogger } from '../../../shared/logger.ts';
import { driftReportSchema } from '../../../shared/monitoring.ts';
import { featureKeys } from '../../../shared/storage-keys.ts';
import type { DriftMonitorResult } from '../../../workflows/drift-monitor.ts';
import { WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';
import { FLIGHTS_FEATURES, FLIGHTS_SPEC_HASH, flightEvent, flightsSnapshot, registerFlightsModel } from '../../unit/api/support/flights-model.ts';
import { startTestApi, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { stackForSuite, stackConfig, testIds } from '../../support/stack.ts';
import { isolatedConfig, storeFlightsFeatures } from '../api/minio-support.ts';

/**
 * The drift monitor as it runs in production: its Temporal Schedule (upsertDriftMonitorSchedule)
 * starts `driftMonitor` on the pipeline task queue, and the run judges a window of predictions the
 * real prediction API (in process, against the test's MinIO) served and logged as Parquet. The
 * model's reference statistics are computed from the features the API logged in that window, so the
 * verdict must be "no drift" with every feature's PSI near zero: the monitor counted exactly the
 * rows the API wrote, binned as the reference was.
 */

const EVENTS = 600;
const FEATURE_NAMES = [...FLIGHTS_FEATURES.numeric, ...FLIGHTS_FEATURES.categorical];

/** The run a schedule started last, from its recent actions. */
async function lastScheduledRun(client: Client, scheduleId: string, after: number): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { info } = await client.schedule.getHandle(scheduleId).describe();
    const action = info.recentActions.find((a) => a.takenAt.getTime() >= after);
    if (action) return action.action.workflow.workflowId;
    if (Date.now() > deadline) throw new Error(`schedule ${scheduleId} took no action after ${new Date(after).toISOString()}`);
    await sleep(200);
  }
}

/** Workflow ids the visibility store lists for `query`, polled until `id` shows (visibility is eventually consistent). */
async function listedUntil(client: Client, query: string, id: string): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ids: string[] = [];
    for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
    if (ids.includes(id) || Date.now() > deadline) return ids;
    await sleep(300);
  }
}

describe('the scheduled drift monitor on the real stack', () => {
  const stack = stackForSuite(stackConfig());

  test('a run started by the schedule judges the window of predictions served through the API', async (t) => {
    const { store, client } = stack;
    const { taskQueue } = testIds(t.name);
    const suffix = randomBytes(4).toString('hex');
    const config = await isolatedConfig(store, {
      SLUICE_TASK_QUEUE_PIPELINE: taskQueue,
      SLUICE_BUCKET_FEATURES: `sluice-features-${suffix}`,
      SLUICE_BUCKET_REPORTS: `sluice-reports-${suffix}`,
      SLUICE_SERVING_POLL_INTERVAL_MS: '150',
    });
    await store.ensureBucket(config.buckets.reports);
    await storeFlightsFeatures(store, config);
    const registry = new ModelRegistry(store, config.buckets.models);
    const model = `sched-mon-${suffix}`;
    const champion = await registerFlightsModel(registry, model, { seed: 3 });
    await registry.transition(model, champion.version, 'approved', { by: 'test' });
    await registry.promote(model, champion.version, { by: 'test', reason: 'first champion' });
    await writeServingConfig(store, config, { [model]: { primary: champion.version } }, 1);

    const definitions = new StoredFeatureDefinitions(store, config.buckets, 150, createLogger('error'));
    const dir = await mkdtemp(join(tmpdir(), 'sluice-scheduled-monitor-'));
    const worker = await Worker.create({
      connection: stack.nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: createMonitoringActivities({ store, buckets: config.buckets }),
    });
    const running = worker.run();
    let scheduleId: string | undefined;
    let lastServedAt = 0;
    try {
      // Traffic through the real HTTP route, flushed to the predictions bucket as the API's Parquet files.
      {
        await using api = await startTestApi({ store, config, assemblers: new OnlineFeatureAssemblers(definitions) });
        await api.firstPoll;
        for (let i = 0; i < EVENTS; i += 100) {
          const res = await api.predict(model, { events: Array.from({ length: 100 }, (_, j) => flightEvent(i + j)) });
          assert.equal(res.status, 200, res.text);
        }
        lastServedAt = Date.now();
        await api.predictionLog.flush();
      }
      const logged = (await store.list(config.buckets.predictions, predictionLogKeys.prefix(model))).map((o) => o.key);
      assert.ok(logged.length > 0, 'the API wrote no prediction log');

      // The reference: the features the API logged, as the feature build would summarise a training split.
      {
        using duck = await openDuckDb({ tempDirectory: dir });
        const files = await Promise.all(logged.map(async (key, i) => {
          const path = join(dir, `log-${i}.parquet`);
          await store.getFile(config.buckets.predictions, key, path);
          return quoteString(path);
        }));
        const referencePath = join(dir, 'reference.parquet');
        await duck.db.run(`COPY (SELECT unnest(features), label AS delayed FROM read_parquet([${files.join(', ')}])) TO ${quoteString(referencePath)} (FORMAT parquet)`);
        const features = [...FLIGHTS_FEATURES.numeric.map((name) => ({ name, kind: 'numeric' as const })), ...FLIGHTS_FEATURES.categorical.map((name) => ({ name, kind: 'categorical' as const }))];
        const stats = await computeReferenceStats(duck.db, referencePath, { features, label: 'delayed' }, { bins: 10, topCategories: 20 });
        const datasetVersion = flightsSnapshot().datasetVersion;
        await store.put(config.buckets.features, featureKeys.referenceStats(FLIGHTS_SPEC_HASH, datasetVersion), JSON.stringify({ kind: 'sluice.reference-stats', featureSpecHash: FLIGHTS_SPEC_HASH, datasetVersion, split: 'train', ...stats }));
      }

      // The schedule fires now (trigger) instead of at its next interval; its runs judge the 10 minutes before them.
      const schedule = await upsertDriftMonitorSchedule({ client, config }, { input: { model, window: '10m', align: '1s' }, interval: '1h' });
      scheduleId = schedule.scheduleId;
      assert.equal(schedule.created, true);
      // The run's window ends at its start time floored to `align` (1 s): a trigger in the same second as
      // the last request would end the window before that request, so it waits for the next second.
      await sleep(Math.max(0, Math.floor(lastServedAt / 1000) * 1000 + 1000 - Date.now()));
      const triggeredAt = Date.now();
      await client.schedule.getHandle(scheduleId).trigger();
      const workflowId = await lastScheduledRun(client, scheduleId, triggeredAt - 1000);
      const result = await client.workflow.getHandle<(input: unknown) => Promise<DriftMonitorResult>>(workflowId).result();

      // Started by the schedule: Temporal's own search attribute names it.
      const listed = await listedUntil(client, `TemporalScheduledById = '${scheduleId}'`, workflowId);
      assert.ok(listed.includes(workflowId), `${workflowId} is not among the runs scheduled by ${scheduleId}: ${listed.join(', ')}`);
      assert.equal((await client.workflow.getHandle(workflowId).describe()).type, 'driftMonitor');

      // It judged exactly the API's rows, for the champion, and found the window matches its reference.
      assert.equal(result.status, 'judged', JSON.stringify(result));
      assert.equal(result.version, champion.version);
      assert.equal(result.drift?.rows, EVENTS);
      assert.ok(Date.parse(result.window.until) <= Date.now() && Date.parse(result.window.until) > triggeredAt - 2000, JSON.stringify(result.window));
      assert.equal(result.drift?.verdict, 'ok', JSON.stringify(result.drift?.top));
      assert.deepEqual(result.drift?.drifted, []);
      const report = driftReportSchema.parse(JSON.parse((await store.get(config.buckets.reports, result.drift?.reportKey ?? '')).toString('utf8')));
      assert.deepEqual(report.features.map((f) => f.name).sort(), [...FEATURE_NAMES].sort());
      for (const f of report.features) {
        assert.equal(f.rows, EVENTS, f.name);
        assert.ok(f.statistics.psi < 0.01, `${f.name}: PSI ${f.statistics.psi} of a window against its own reference`);
      }
      assert.equal(result.decision?.retrain, false);
    } finally {
      if (scheduleId) await client.schedule.getHandle(scheduleId).delete();
      worker.shutdown();
      await running;
      definitions.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
