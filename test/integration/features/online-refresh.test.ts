import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { Worker } from '@temporalio/worker';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import { featureRefreshStatus, followServedModel, refreshFeaturesNow, upsertFeatureRefreshSchedule } from '../../../control/feature-refresh.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { newestSnapshot, readSnapshot } from '../../../domain/features/online-snapshot-loader.ts';
import { type Config, loadConfig } from '../../../shared/config.ts';
import { type RefreshOutcome, refreshScheduleId } from '../../../shared/online-refresh.ts';
import { FLIGHTS_SPEC_HASH, flightsManifest, trainFlightsModel } from '../../unit/api/support/flights-model.ts';
import { createPipelineQueueActivities, WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';
import { type TemporalHandles, connectToStack, stackConfig, testIds } from '../../support/stack.ts';
import { FLIGHTS_PARQUET, type FixtureDir, fixtureDir, isolatedBuckets, sqlPath } from '../data/fixtures.ts';

/**
 * The online feature refresh on the real stack: the `refreshOnlineFeatures` workflow with the real
 * activities (ingestion, materialization on DuckDB, MinIO), over a source that grows, and the
 * Schedule that runs it. The data is three, then four days of real January flights.
 */
describe('refreshing online features', () => {
  let stack: TemporalHandles;
  const suffix = randomBytes(4).toString('hex');
  const model = `refresh-${suffix}`;
  const { taskQueue } = testIds('online feature refresh');
  let config: Config;
  let fixtures: FixtureDir;
  let source: string;
  let worker: Worker;
  let running: Promise<void>;

  /** The source file holds the flights before `until` (the file grows in place, as a daily export would). */
  const writeSource = (until: string) => fixtures.sql(`COPY (SELECT * FROM read_parquet(${sqlPath(FLIGHTS_PARQUET)}) WHERE date >= TIMESTAMP '2001-01-01' AND date < TIMESTAMP '${until}' ORDER BY ALL) TO ${sqlPath(source)} (FORMAT parquet)`);
  const rowsBefore = async (until: string) => {
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      return Number((await db.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlPath(FLIGHTS_PARQUET)}) WHERE date >= TIMESTAMP '2001-01-01' AND date < TIMESTAMP '${until}'`)).getRows()[0]?.[0]);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  };

  before(async () => {
    stack = await connectToStack(stackConfig());
    const buckets = await isolatedBuckets(stack.store, 'refresh');
    config = loadConfig({
      ...process.env,
      SLUICE_TASK_QUEUE_PIPELINE: taskQueue,
      SLUICE_BUCKET_DATASETS: buckets.datasets,
      SLUICE_BUCKET_FEATURES: buckets.features,
      SLUICE_BUCKET_MODELS: buckets.models,
      SLUICE_BUCKET_REPORTS: buckets.reports,
      SLUICE_BUCKET_SERVING: buckets.serving,
      SLUICE_BUCKET_PREDICTIONS: buckets.predictions,
    });
    fixtures = fixtureDir();
    source = fixtures.path('flights.parquet');
    await writeSource('2001-01-04');

    // A champion whose stored pipeline spec names the source: what a pipeline run and a promotion leave.
    const spec = { ...(loadSpecFile(resolve(import.meta.dirname, '../../../examples/flights/pipeline.json')) as Record<string, unknown>), model: { name: model }, dataset: { name: `flights-${suffix}`, source } };
    const specKey = `specs/${model}.json`;
    await stack.store.put(config.buckets.reports, specKey, JSON.stringify(spec));
    const registry = new ModelRegistry(stack.store, config.buckets.models);
    const trained = await trainFlightsModel({ rows: 400 });
    const registered = await registry.register({
      manifest: { ...flightsManifest(model, trained, `test-${model}`), reports: { spec: specKey } },
      onnx: (version) => trained.model.toOnnx({ modelName: model, modelVersion: version, lineage: { featureDefinitionHash: FLIGHTS_SPEC_HASH }, threshold: trained.threshold }),
      registrationKey: `test-${model}`,
      by: 'test',
    });
    await registry.transition(model, registered.version, 'approved', { by: 'test' });
    await registry.promote(model, registered.version, { by: 'test', reason: 'first champion' });

    worker = await Worker.create({
      connection: stack.nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: createPipelineQueueActivities({ store: stack.store, buckets: config.buckets, config, client: () => stack.client }),
    });
    running = worker.run();
  });

  after(async () => {
    await stack.client.schedule.getHandle(refreshScheduleId(model)).delete().catch(() => undefined);
    worker.shutdown();
    await running;
    fixtures[Symbol.dispose]();
    await stack[Symbol.asyncDispose]();
  });

  const refresh = (asOf?: 'now') => refreshFeaturesNow({ client: stack.client, config }, { model, ...(asOf ? { asOf } : {}) });

  test('each run ingests what is new and writes a snapshot; rows ingested and keys changed are in its result and details', async () => {
    const first = await refresh();
    assert.equal(first.version, 1);
    assert.equal(first.featureSpecHash, FLIGHTS_SPEC_HASH);
    assert.equal(first.rowsIngested, await rowsBefore('2001-01-04'));
    assert.equal(first.previousSnapshotKey, null);
    assert.ok(first.changes.keys > 100 && first.changes.added === first.changes.keys, JSON.stringify(first.changes));
    // as of data-end: just after the newest flight of 3 January.
    assert.ok(first.asOf > '2001-01-03T00:00:00.000Z' && first.asOf <= '2001-01-04T00:00:00.000Z', first.asOf);

    // Unchanged data: nothing ingested, the same snapshot rewritten, no key changed.
    const again = await refresh();
    assert.equal(again.datasetVersion, first.datasetVersion);
    assert.equal(again.rowsIngested, 0);
    assert.equal(again.snapshotKey, first.snapshotKey);
    assert.deepEqual(again.changes, { keys: first.changes.keys, added: 0, removed: 0, changed: 0 });

    // The source grew by a day: a new dataset version and a later snapshot, whose changes are counted against the previous one.
    await writeSource('2001-01-05');
    const grown = await refresh();
    assert.notEqual(grown.datasetVersion, first.datasetVersion);
    assert.equal(grown.rowsIngested, await rowsBefore('2001-01-05'));
    assert.equal(grown.previousSnapshotKey, first.snapshotKey);
    assert.ok(grown.asOf > '2001-01-04T00:00:00.000Z', grown.asOf);
    assert.ok(grown.changes.changed > 0, JSON.stringify(grown.changes));
    const served = await newestSnapshot(stack.store, config.buckets.serving, FLIGHTS_SPEC_HASH);
    assert.equal(served?.key, grown.snapshotKey, 'the API serves the newest snapshot');
    const written = await readSnapshot(stack.store, config.buckets.serving, grown.snapshotKey);
    assert.equal(written.tables.reduce((n, t) => n + t.entries.length, 0), grown.changes.keys);

    // The run's current details in the Temporal UI say the same.
    const run = stack.client.workflow.getHandle(`${refreshScheduleId(model)}-manual`);
    const metadata = await run.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    assert.match(metadata.currentDetails, new RegExp(`^Rows ingested: ${grown.rowsIngested}\\. Keys changed: ${grown.changes.added + grown.changes.removed + grown.changes.changed} of ${grown.changes.keys}`));
    const history = await run.fetchHistory();
    const summaries = (history.events ?? []).flatMap((e) => (e.userMetadata?.summary?.data ? [Buffer.from(e.userMetadata.summary.data).toString()] : []));
    assert.ok(summaries.some((s) => s.includes('Ingest')) && summaries.some((s) => s.includes('Materialize')), `activity summaries: ${summaries.join(' | ')}`);

    // as of now: the run's own time (windows over nothing recent: the January data is long past).
    const startedAt = Date.now();
    const now = await refresh('now');
    assert.ok(Date.parse(now.asOf) >= startedAt - 1000 && Date.parse(now.asOf) <= Date.now(), now.asOf);
  });

  test('the schedule: created on a served model with the defaults, a triggered run completes, paused when nothing is served', async () => {
    const deps = { client: stack.client, config, store: stack.store };
    const created = await followServedModel(deps, model);
    assert.deepEqual(created, { scheduleId: refreshScheduleId(model), created: true, every: '15m', asOf: 'data-end', paused: false });
    const description = await stack.client.schedule.getHandle(refreshScheduleId(model)).describe();
    assert.equal(description.policies.overlap, 'SKIP');

    // An interval chosen by hand survives the next promotion's update.
    await upsertFeatureRefreshSchedule(deps, { model, every: '1h' });
    assert.equal((await followServedModel(deps, model))?.every, '1h');

    const handle = stack.client.schedule.getHandle(refreshScheduleId(model));
    await handle.trigger();
    let outcome: RefreshOutcome | undefined;
    const deadline = Date.now() + 60_000;
    while (!outcome) {
      const action = (await handle.describe()).info.recentActions.at(-1);
      if (action) outcome = (await stack.client.workflow.getHandle(action.action.workflow.workflowId, action.action.workflow.firstExecutionRunId).result()) as RefreshOutcome;
      else if (Date.now() > deadline) assert.fail('the triggered run never started');
      else await sleep(200);
    }
    assert.equal(outcome.model, model);
    assert.equal(outcome.asOfMode, 'data-end');
    const status = await featureRefreshStatus(deps, model);
    assert.equal(status.schedule?.recentRuns.length, 1);
    // The newest as-of wins: the earlier test's run as of now is later than this one's data end.
    assert.equal(status.snapshot?.key, (await newestSnapshot(stack.store, config.buckets.serving, FLIGHTS_SPEC_HASH))?.key);
    assert.ok(status.snapshot && status.snapshot.asOf >= outcome.asOf);

    // The champion leaves production (a rollback with no earlier version): the schedule pauses.
    const registry = new ModelRegistry(stack.store, config.buckets.models);
    await registry.transition(model, 1, 'rolled-back', { by: 'test', reason: 'bad' });
    await registry.setAlias(model, 'champion', null, { by: 'test', reason: 'rolled back' });
    assert.equal((await followServedModel(deps, model))?.paused, true);
    assert.equal((await handle.describe()).state.paused, true);
  });
});
