import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { ScheduleOverlapPolicy, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { computeReferenceStats } from '../../../domain/features/reference-stats.ts';
import { windowPerformance } from '../../../domain/monitoring/window-counts.ts';
import { driftMonitorScheduleId, upsertDriftMonitorSchedule } from '../../../control/monitor-schedule.ts';
import { createMonitoringActivities } from '../../../activities/monitoring/monitoring-activities.ts';
import { startTrainingPipeline } from '../../../control/start-training-pipeline.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import { feedbackKeys, hourPartition, predictionLogKeys, versionTag } from '../../../shared/api/prediction-log.ts';
import { ErrorType } from '../../../shared/errors.ts';
import { driftReportSchema, monitorStateKey, monitorStateSchema } from '../../../shared/monitoring.ts';
import type { driftMonitor } from '../../../workflows/drift-monitor.ts';
import { WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';
import { scratchDuckDbForSuite } from '../../support/scratch-duckdb.ts';
import { stackForSuite, stackConfig, testIds } from '../../support/stack.ts';

/**
 * The drift monitor on the real stack (Temporal dev server + MinIO) with real flights (Jan–Jun 2001):
 * reference statistics from January, logged predictions replayed into hour partitions of the
 * predictions bucket, the workflow judging windows. A held-out sample of January is not drift; June
 * is (the per-airport delay rates move with the season), and two June windows start a real training
 * pipeline run carrying the evidence as its trigger.
 */

const FLIGHTS = resolve(import.meta.dirname, '../../../node_modules/vega-datasets/data/flights-3m.parquet');
const FEATURES = { numeric: ['distance_miles', 'hour_of_day', 'day_of_week', 'origin_delay_rate', 'route_delay_rate'], categorical: ['origin_airport', 'destination_airport'] };
const SELECT = `distance::DOUBLE AS distance_miles, hour(date)::DOUBLE AS hour_of_day, isodow(date)::DOUBLE AS day_of_week, origin_rate AS origin_delay_rate, route_rate AS route_delay_rate, origin AS origin_airport, destination AS destination_airport`;

describe('driftMonitor on the real stack with replayed flights', () => {
  const config = stackConfig();
  const stack = stackForSuite(config);
  const scratch = scratchDuckDbForSuite('sluice-monitor-it-');
  const model = `drift-${Date.now().toString(36)}`;
  const hours = { janA: '2026-03-01T10', janB: '2026-03-01T11', juneA: '2026-03-01T12', juneB: '2026-03-01T13' };

  async function logHour(hour: string, where: string, seed: number, labelled = false, name = model, rows = 20_000) {
    const path = join(scratch.dir, `${name}-${hour}.parquet`);
    const struct = [...FEATURES.numeric, ...FEATURES.categorical].map((n) => `'${n}': ${n}`).join(', ');
    await scratch.db.run(`COPY (
      SELECT 'req-${hour}-' || row_number() OVER () AS request_id, 0 AS event_index,
        TIMESTAMPTZ '${hour}:00:00+00' + to_milliseconds(row_number() OVER () * 100) AS predicted_at,
        '${name}' AS model, 1 AS model_version, 'primary' AS route, NULL::VARCHAR AS routing_key,
        (0.1 + 0.5 * origin_delay_rate)::FLOAT AS score, 0.3::FLOAT AS threshold, score >= 0.3 AS label, 1.0 AS latency_ms, {${struct}} AS features
      FROM (SELECT ${SELECT}, delay FROM (SELECT * FROM flights WHERE ${where}) USING SAMPLE ${rows} ROWS (reservoir, ${seed}))
    ) TO '${path}' (FORMAT parquet)`);
    await stack.store.putFile(config.buckets.predictions, predictionLogKeys.file(name, hour, `${versionTag(1)}-replay`), path);
    if (!labelled) return path;
    // What happened to those flights, as the feedback API stores it (JSON lines), for the window's AUC and log loss.
    const labels = join(scratch.dir, `${name}-${hour}.jsonl`);
    await scratch.db.run(`COPY (
      SELECT 'req-${hour}-' || row_number() OVER () AS request_id, 0 AS event_index, delay > 15 AS label
      FROM (SELECT delay FROM (SELECT * FROM flights WHERE ${where}) USING SAMPLE ${rows} ROWS (reservoir, ${seed}))
    ) TO '${labels}' (FORMAT json)`);
    await stack.store.putFile(config.buckets.predictions, feedbackKeys.file(hour, `replay-${name}`), labels);
    return path;
  }

  /** A registered champion v1 of `name` with the reference statistics of `before`, and its evaluated test metrics. */
  async function registerChampion(name: string, metrics: Record<string, number>) {
    const registry = new ModelRegistry(stack.store, config.buckets.models);
    const manifest = await registry.register({
      manifest: {
        name,
        datasetVersion: 'b'.repeat(64),
        featureDefinitionHash: 'a'.repeat(64),
        codeVersion: 'test',
        trainer: { kind: 'gbdt', hyperparameters: {} },
        seed: 1,
        metrics,
        threshold: 0.3,
        featureNames: FEATURES,
        reports: { referenceStats: referenceKey },
        origin: { workflowId: 'test' },
      },
      onnx: Buffer.from('not used by the monitor'),
      registrationKey: 'test',
      by: 'test',
    });
    await registry.setAlias(name, 'champion', manifest.version, { by: 'test' });
  }
  const referenceKey = `monitoring-it/${model}/reference-stats.json`;

  function monitoringWorker(taskQueue: string) {
    // Retraining runs go to a queue nobody polls: the tests check a run is started with its trigger, then end it.
    const testConfig = { ...config, taskQueues: { ...config.taskQueues, pipeline: `${taskQueue}-training` } };
    return Worker.create({
      connection: stack.nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: createMonitoringActivities({
        store: stack.store,
        buckets: config.buckets,
        startPipeline: (request) => startTrainingPipeline({ client: stack.client, config: testConfig, store: stack.store }, request),
        isRunning: async (id) => (await stack.client.workflow.getHandle(id).describe()).status.name === 'RUNNING',
      }),
    });
  }

  async function retrainSpecFor(name: string) {
    const spec = loadSpecFile(resolve(import.meta.dirname, '../../../examples/flights/pipeline.json')) as Record<string, unknown>;
    const dataPath = join(scratch.dir, 'newest.parquet');
    await scratch.db.run(`COPY (SELECT date, delay, distance, origin, destination FROM flights WHERE m = 6 LIMIT 5000) TO '${dataPath}' (FORMAT parquet)`);
    return { ...spec, model: { name }, dataset: { name: 'flights', source: dataPath } };
  }

  before(async () => {
    await scratch.db.run(`SET TimeZone = 'UTC'`);
    // Predictions and their labels are drawn by two queries and matched by row number: one thread
    // keeps a seeded reservoir sample's rows, and their order, the same in both.
    await scratch.db.run('SET threads = 1');
    await scratch.db.run(`CREATE TABLE flights AS SELECT *, month(date) AS m,
      avg((delay > 15)::DOUBLE) OVER (PARTITION BY origin, month(date)) AS origin_rate,
      avg((delay > 15)::DOUBLE) OVER (PARTITION BY origin, destination, month(date)) AS route_rate
      FROM '${FLIGHTS}' WHERE month(date) IN (1, 6)`);
    // Reference: January without the held-out tenth.
    const referencePath = join(scratch.dir, 'reference.parquet');
    await scratch.db.run(`COPY (SELECT ${SELECT}, delay > 15 AS delayed FROM flights WHERE m = 1 AND hash(date, origin, destination) % 10 <> 0) TO '${referencePath}' (FORMAT parquet)`);
    const stats = await computeReferenceStats(
      scratch.db,
      referencePath,
      { features: [...FEATURES.numeric.map((name) => ({ name, kind: 'numeric' as const })), ...FEATURES.categorical.map((name) => ({ name, kind: 'categorical' as const }))], label: 'delayed' },
      { bins: 10, topCategories: 20 },
    );
    await stack.store.put(config.buckets.features, referenceKey, JSON.stringify({ kind: 'sluice.reference-stats', featureSpecHash: 'a'.repeat(64), datasetVersion: 'b'.repeat(64), split: 'train', ...stats }));
    // Evaluated without test metrics: no baseline, so this model's retraining is drift's doing alone.
    await registerChampion(model, {});
    await logHour(hours.janA, 'm = 1 AND hash(date, origin, destination) % 10 = 0', 1);
    await logHour(hours.janB, 'm = 1 AND hash(date, origin, destination) % 10 = 0', 2);
    await logHour(hours.juneA, 'm = 6', 3);
    await logHour(hours.juneB, 'm = 6', 4, true);
  });

  test('held-out January is not drift; two June windows trip K-of-N and start one retraining with the evidence', async (t) => {
    const { taskQueue, workflowId } = testIds(t.name);
    const worker = await monitoringWorker(taskQueue);
    const retrainSpec = await retrainSpecFor(model);
    // One drifted feature is enough here: the season moves the delay-rate features, not the route mix.
    const base = { model, window: '1h', align: '1h', thresholds: { datasetDriftShare: 0.1 }, consecutive: { k: 2, n: 3 }, cooldown: '24h', retrainSpec };
    const run = (hour: string, suffix: string) =>
      stack.client.workflow.execute<typeof driftMonitor>('driftMonitor', { taskQueue, workflowId: `${workflowId}-${suffix}`, args: [{ ...base, asOf: new Date(Date.parse(`${hour}:00:00Z`) + 3_600_000).toISOString() }] });

    await worker.runUntil(async () => {
      const janA = await run(hours.janA, 'jan-a');
      assert.equal(janA.status, 'judged');
      assert.equal(janA.drift?.rows, 20_000);
      assert.equal(janA.drift?.verdict, 'ok', JSON.stringify(janA.drift?.top));
      assert.deepEqual(janA.drift?.drifted, []);
      const janB = await run(hours.janB, 'jan-b');
      assert.equal(janB.drift?.verdict, 'ok');

      const juneA = await run(hours.juneA, 'june-a');
      assert.equal(juneA.drift?.verdict, 'alert');
      assert.ok(juneA.drift?.drifted.includes('origin_delay_rate'), JSON.stringify(juneA.drift));
      assert.equal(juneA.decision?.retrain, false, 'one alert of three is not enough');
      assert.equal(juneA.retraining, undefined);

      const juneB = await run(hours.juneB, 'june-b');
      assert.equal(juneB.decision?.retrain, true, juneB.decision?.reason);
      // Feedback for every prediction of the window: the score (from the airport's delay rate) ranks better than chance.
      assert.equal(juneB.performance?.labelled, 20_000);
      assert.ok(juneB.performance?.rocAuc && juneB.performance.rocAuc > 0.55 && juneB.performance.rocAuc < 0.9, JSON.stringify(juneB.performance));
      assert.ok(juneB.performance.logLoss && juneB.performance.logLoss > 0);
      assert.equal(janA.performance?.labelled, 0);
      assert.ok(juneB.retraining && 'workflowId' in juneB.retraining && juneB.retraining.started);
      const training = stack.client.workflow.getHandle(juneB.retraining.workflowId);
      const description = await training.describe();
      assert.equal(description.type, 'trainingPipeline');
      assert.equal(description.status.name, 'RUNNING');
      const history = await training.fetchHistory();
      const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
      assert.ok(payload);
      const started = JSON.parse(Buffer.from(payload).toString('utf8')) as { trigger: { kind: string; drift: { drifted: string[]; reportKey: string }; windows: unknown[] } };
      assert.equal(started.trigger.kind, 'drift-monitor');
      assert.ok(started.trigger.drift.drifted.includes('origin_delay_rate'));
      assert.equal(started.trigger.windows.length, 3);

      // Again within the cooldown (and with the run in flight): no second retraining.
      const again = await run(hours.juneB, 'june-b-again');
      assert.equal(again.decision?.coolingDown, true);
      assert.equal(again.retraining, undefined);
      await training.terminate('monitor integration test');

      // The runs replay deterministically with the code as it is; SAVE_MONITOR_HISTORIES keeps them as fixtures.
      for (const id of [`${workflowId}-jan-a`, `${workflowId}-june-b`]) {
        const history = await stack.client.workflow.getHandle(id).fetchHistory();
        await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, id);
        if (process.env.SAVE_MONITOR_HISTORIES) {
          // The standard JSON history format (the CLI's, the Temporal UI's export) that replay reads.
          const json = execFileSync(config.binaries.temporal ?? 'temporal', ['workflow', 'show', '--workflow-id', id, '--address', config.temporal.address, '--namespace', config.temporal.namespace, '--output', 'json']);
          writeFileSync(join(process.env.SAVE_MONITOR_HISTORIES, `${id.endsWith('jan-a') ? 'drift-monitor-ok' : 'drift-monitor-retrain'}.json`), json);
        }
      }

      // The reports: JSON (schema-valid) and HTML in the reports bucket; the state remembers four windows.
      const report = driftReportSchema.parse(JSON.parse((await stack.store.get(config.buckets.reports, juneB.drift?.reportKey ?? '')).toString('utf8')));
      assert.equal(report.features.length, 7);
      const html = (await stack.store.get(config.buckets.reports, juneB.drift?.htmlKey ?? '')).toString('utf8');
      assert.match(html, /Verdict: <span[^>]*>alert<\/span>/);
      const state = JSON.parse((await stack.store.get(config.buckets.reports, monitorStateKey(model))).toString('utf8')) as { windows: unknown[]; lastRetrain: { workflowId: string } };
      assert.equal(state.windows.length, 4);
      assert.equal(state.lastRetrain.workflowId, juneB.retraining.workflowId);
    });
  });

  test('a window below the version\'s own evaluated figures starts exactly one retraining; a window within them starts none', async (t) => {
    const { taskQueue, workflowId } = testIds(t.name);
    // Held-out January, labelled: no drift, so whatever retrains here is the performance rule.
    const where = 'm = 1 AND hash(date, origin, destination) % 10 = 0';
    const [hourA, hourB] = ['2026-03-02T10', '2026-03-02T11'];
    const within = `${model}-within`;
    const breach = `${model}-breach`;
    const logA = await logHour(hourA, where, 5, true, within, 2000);
    await logHour(hourA, where, 5, true, breach, 2000);
    await logHour(hourB, where, 6, true, breach, 2000);
    // The baselines sit just inside and well outside the limits around what this traffic scores.
    const window = { version: 1, from: `${hourA}:00:00.000Z`, until: new Date(Date.parse(`${hourA}:00:00Z`) + 3_600_000).toISOString() };
    const served = await windowPerformance(scratch.db, [logA], [join(scratch.dir, `${within}-${hourA}.jsonl`)], { model: within, ...window }, { kind: 'binary' });
    const { rocAuc, logLoss } = served;
    assert.ok(rocAuc !== null && logLoss !== null && served.labelled === 2000, JSON.stringify(served));
    await registerChampion(within, { rocAuc: rocAuc + 0.015, logLoss: logLoss - 0.04 });
    await registerChampion(breach, { rocAuc: rocAuc + 0.05, logLoss });

    const worker = await monitoringWorker(taskQueue);
    const base = { consecutive: { k: 1, n: 1 }, cooldown: '24h', performance: { minLabelled: 500 } };
    const run = async (name: string, hour: string, suffix: string) =>
      stack.client.workflow.execute<typeof driftMonitor>('driftMonitor', {
        taskQueue,
        workflowId: `${workflowId}-${suffix}`,
        args: [{ ...base, model: name, retrainSpec: await retrainSpecFor(name), asOf: new Date(Date.parse(`${hour}:00:00Z`) + 3_600_000).toISOString() }],
      });
    await worker.runUntil(async () => {
      const ok = await run(within, hourA, 'within');
      assert.equal(ok.drift?.verdict, 'ok');
      assert.equal(ok.performance?.labelled, 2000);
      assert.deepEqual([ok.decision?.performanceBreached, ok.decision?.retrain, ok.retraining], [false, false, undefined], ok.decision?.reason);

      const first = await run(breach, hourA, 'breach-a');
      assert.equal(first.drift?.verdict, 'ok');
      assert.equal(first.realized?.baseline.rocAuc, rocAuc + 0.05);
      assert.equal(first.decision?.retrain, true);
      assert.match(first.decision?.reason ?? '', /ROC AUC 0\.\d{3} vs baseline 0\.\d{3} \(drop 0\.050 > 0\.02\) on 2000 labels/);
      assert.doesNotMatch(first.decision?.reason ?? '', /log loss/);
      assert.ok(first.retraining && 'workflowId' in first.retraining && first.retraining.started, JSON.stringify(first.retraining));
      const training = stack.client.workflow.getHandle(first.retraining.workflowId);
      assert.equal((await training.describe()).type, 'trainingPipeline');

      // The next window breaches too, but within the cooldown: still one retraining.
      const second = await run(breach, hourB, 'breach-b');
      assert.equal(second.decision?.performanceBreached, true);
      assert.equal(second.decision?.coolingDown, true);
      assert.equal(second.retraining, undefined);
      await training.terminate('monitor integration test');

      const state = monitorStateSchema.parse(JSON.parse((await stack.store.get(config.buckets.reports, monitorStateKey(breach))).toString('utf8')));
      assert.deepEqual(state.windows.map((w) => [w.performance, w.served, w.labelled]), [['breach', 2000, 2000], ['breach', 2000, 2000]]);
      assert.equal(state.lastRetrain?.workflowId, first.retraining.workflowId);
      await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, await stack.client.workflow.getHandle(`${workflowId}-breach-a`).fetchHistory(), 'breach-a');
    });
  });

  test('labels arriving after the window are joined as they arrive until the label horizon, and not after', async (t) => {
    const { taskQueue, workflowId } = testIds(t.name);
    const name = `${model}-late`;
    const hour = '2026-03-05T10';
    const until = Date.parse(`${hour}:00:00Z`) + 3_600_000;
    await logHour(hour, 'm = 1 AND hash(date, origin, destination) % 10 = 0', 7, false, name, 2000);
    await registerChampion(name, { rocAuc: 0.5, logLoss: 5 });
    // A quarter of the window's labels arrives 30 minutes, 20 hours, 40 hours and 50 hours after its end.
    const delaysHours = [0.5, 20, 40, 50];
    for (const [batch, delay] of delaysHours.entries()) {
      const received = until + delay * 3_600_000;
      const path = join(scratch.dir, `${name}-labels-${batch}.jsonl`);
      await scratch.db.run(`COPY (
        SELECT 'req-${hour}-' || n AS request_id, 0 AS event_index, label, '${new Date(received).toISOString()}' AS received_at FROM (
          SELECT row_number() OVER () AS n, delay > 15 AS label
          FROM (SELECT delay FROM (SELECT * FROM flights WHERE m = 1 AND hash(date, origin, destination) % 10 = 0) USING SAMPLE 2000 ROWS (reservoir, 7)))
        WHERE n % 4 = ${batch}
      ) TO '${path}' (FORMAT json)`);
      await stack.store.putFile(config.buckets.predictions, feedbackKeys.file(hourPartition(received), `late-${name}-${batch}`), path);
    }

    const worker = await monitoringWorker(taskQueue);
    const pass = (afterHours: number) =>
      stack.client.workflow.execute<typeof driftMonitor>('driftMonitor', {
        taskQueue,
        workflowId: `${workflowId}-${afterHours}h`,
        args: [{ model: name, labelHorizon: '2d', performance: { minLabelled: 100 }, asOf: new Date(until + afterHours * 3_600_000).toISOString() }],
      });
    const stored = async () => monitorStateSchema.parse(JSON.parse((await stack.store.get(config.buckets.reports, monitorStateKey(name))).toString('utf8'))).windows[0];
    await worker.runUntil(async () => {
      const atEnd = await pass(0);
      assert.equal(atEnd.status, 'judged');
      assert.equal(atEnd.performance?.labelled, 0);
      assert.deepEqual(await stored().then((w) => [w?.served, w?.labelled, w?.performance, w?.labelsFinal]), [2000, 0, 'insufficient-labels', false]);

      // Later passes have no traffic of their own (not judged) but re-judge the maturing window.
      const hourLater = await pass(1);
      assert.equal(hourLater.status, 'not-judged');
      assert.deepEqual(hourLater.realized?.rejudged.map((w) => w.labelled), [500]);
      assert.equal(hourLater.realized?.rejudged[0]?.performance, 'ok');

      const dayLater = await pass(32);
      assert.deepEqual(dayLater.realized?.rejudged.map((w) => [w.labelled, w.labelsFinal]), [[1000, false]]);

      // Past the horizon (48 h): the 40 h batch joins, the 50 h one never does, and the figures are final.
      const final = await pass(72);
      assert.deepEqual(final.realized?.rejudged.map((w) => [w.labelled, w.labelsFinal, w.labelsAsOf]), [[1500, true, new Date(until + 48 * 3_600_000).toISOString()]]);
      const after = await pass(96);
      assert.deepEqual(after.realized?.rejudged, []);
      const window = await stored();
      assert.deepEqual([window?.served, window?.labelled, window?.labelsFinal], [2000, 1500, true]);
      assert.ok(window?.rocAuc !== null && window?.rocAuc !== undefined && window.rocAuc > 0.55, JSON.stringify(window));
    });
  });
});

describe('driftMonitor input and models without a champion', () => {
  const config = stackConfig();
  const stack = stackForSuite(config);

  test('bad input fails at once with a typed InvalidInput; a model nobody deployed is reported, not judged', async (t) => {
    const { taskQueue, workflowId } = testIds(t.name);
    const worker = await Worker.create({
      connection: stack.nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: createMonitoringActivities({ store: stack.store, buckets: config.buckets }),
    });
    await worker.runUntil(async () => {
      await assert.rejects(
        stack.client.workflow.execute<typeof driftMonitor>('driftMonitor', { taskQueue, workflowId: `${workflowId}-bad`, args: [{ model: 'm', window: 'an hour', consecutive: { k: 0 } }] }),
        (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure && err.cause.type === ErrorType.InvalidInput,
      );
      const none = await stack.client.workflow.execute<typeof driftMonitor>('driftMonitor', { taskQueue, workflowId: `${workflowId}-none`, args: [{ model: `never-${Date.now().toString(36)}` }] });
      assert.equal(none.status, 'no-deployed-model');
    });
  });
});

describe('the drift monitor schedule', () => {
  const config = stackConfig();
  const stack = stackForSuite(config);

  test('is created once and updated in place (interval and input), never overlapping', async () => {
    const model = `sched-${Date.now().toString(36)}`;
    const created = await upsertDriftMonitorSchedule({ client: stack.client, config }, { input: { model }, interval: '1h' });
    assert.deepEqual(created, { scheduleId: driftMonitorScheduleId(model), created: true });
    const handle = stack.client.schedule.getHandle(created.scheduleId);
    try {
      let described = await handle.describe();
      assert.equal(described.spec.intervals?.[0]?.every, 3_600_000);
      assert.equal(described.policies.overlap, ScheduleOverlapPolicy.SKIP);
      assert.equal(described.action.type, 'startWorkflow');
      const updated = await upsertDriftMonitorSchedule({ client: stack.client, config }, { input: { model, window: '30m' }, interval: '15m' });
      assert.equal(updated.created, false);
      described = await handle.describe();
      assert.equal(described.spec.intervals?.[0]?.every, 900_000);
      assert.ok(described.action.type === 'startWorkflow' && described.action.workflowType === 'driftMonitor');
      assert.deepEqual(described.action.args, [{ model, window: '30m', align: '15m' }]);
    } finally {
      await handle.delete();
    }
  });
});
