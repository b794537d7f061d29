import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { Worker } from '@temporalio/worker';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import { EXIT, runCli } from '../../../cli/main.ts';
import { compactionScheduleId } from '../../../shared/prediction-log-compaction.ts';
import { featureRefreshStatus, followServedModel, refreshFeaturesNow, upsertFeatureRefreshSchedule } from '../../../control/feature-refresh.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { listSnapshots, newestSnapshot, readSnapshot } from '../../../domain/features/online-snapshot-loader.ts';
import { pruneSnapshots } from '../../../domain/features/snapshot-retention.ts';
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
  let settings: NodeJS.ProcessEnv;
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
    settings = {
      ...process.env,
      SLUICE_TASK_QUEUE_PIPELINE: taskQueue,
      SLUICE_BUCKET_DATASETS: buckets.datasets,
      SLUICE_BUCKET_FEATURES: buckets.features,
      SLUICE_BUCKET_MODELS: buckets.models,
      SLUICE_BUCKET_REPORTS: buckets.reports,
      SLUICE_BUCKET_SERVING: buckets.serving,
      SLUICE_BUCKET_PREDICTIONS: buckets.predictions,
    };
    config = loadConfig(settings);
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

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runCli(argv, { write: (l) => out.push(l), error: (l) => out.push(l), env: settings });
    return { code, text: out.join('\n') };
  };
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

    // as of now, through the CLI: the run's own time (windows over nothing recent: the January data is long past).
    const startedAt = Date.now();
    const now = await cli('features', 'refresh', model, '--as-of', 'now');
    assert.equal(now.code, EXIT.ok, now.text);
    const asOf = /snapshot as of (\S+) \(now\): \d+ of \d+ keys changed/.exec(now.text)?.[1] ?? '';
    assert.ok(Date.parse(asOf) >= startedAt - 1000 && Date.parse(asOf) <= Date.now(), now.text);
    assert.match(now.text, new RegExp(`^refreshed ${model} \\(champion v1\\): 0 rows ingested \\(dataset ${grown.datasetVersion.slice(0, 12)}, `));
  });

  test('the schedule: created on a served model with the defaults, a triggered run completes, paused when nothing is served', async () => {
    const deps = { client: stack.client, config, store: stack.store };
    const created = await followServedModel(deps, model);
    assert.deepEqual(created, { scheduleId: refreshScheduleId(model), created: true, every: '15m', asOf: 'data-end', keepSnapshots: 8, paused: false });
    const description = await stack.client.schedule.getHandle(refreshScheduleId(model)).describe();
    assert.equal(description.policies.overlap, 'SKIP');

    // An interval and a retention chosen by hand survive the next promotion's update.
    await upsertFeatureRefreshSchedule(deps, { model, every: '1h', keepSnapshots: 3 });
    const followed = await followServedModel(deps, model);
    assert.equal(followed?.every, '1h');
    assert.equal(followed?.keepSnapshots, 3);

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

  test('the CLI: features schedule, status and refresh, and monitor compaction-schedule; bad input refused with its exit code', async () => {
    // After the rollback above the model has no champion; its paused schedule is there.
    const scheduled = await cli('features', 'schedule', model, '--every', '30m', '--as-of', 'now', '--keep', '12');
    assert.deepEqual(scheduled, { code: EXIT.ok, text: `updated schedule ${refreshScheduleId(model)}: refreshes ${model}'s online features every 30m, as of now, keeping the newest 12 snapshots (PAUSED)` });
    const status = await cli('features', 'status', model);
    assert.equal(status.code, EXIT.ok, status.text);
    assert.match(status.text, new RegExp(`^refresh schedule: ${refreshScheduleId(model)}, every 30m, as of now \\(PAUSED\\); next run .*\n  ran .*\nchampion: none\nonline snapshot: none$`));
    const statusJson = JSON.parse((await cli('features', 'status', model, '--json')).text) as { champion: number | null; snapshot: unknown; schedule: { every: string; asOf: string; paused: boolean } };
    assert.deepEqual([statusJson.champion, statusJson.snapshot, statusJson.schedule.every, statusJson.schedule.asOf, statusJson.schedule.paused], [null, null, '30m', 'now', true]);

    const unknown = `no-such-model-${suffix}`;
    for (const argv of [['features', 'schedule', unknown], ['features', 'status', unknown]]) {
      const refused = await cli(...argv);
      assert.equal(refused.code, EXIT.userError, refused.text);
      assert.equal(refused.text, `No model named '${unknown}' in the registry`, argv.join(' '));
    }
    assert.equal(await stack.client.schedule.getHandle(refreshScheduleId(unknown)).describe().then(() => true, () => false), false, 'no schedule for an unknown model');
    const notServed = await cli('features', 'refresh', model);
    assert.deepEqual(notServed, { code: EXIT.userError, text: `model ${model} has no champion: nothing is served, so there are no online features to refresh` });
    const badKeep = await cli('features', 'schedule', model, '--keep', '1');
    assert.deepEqual(badKeep, { code: EXIT.userError, text: "--keep must be a whole number of snapshots from 2 to 10000, got '1'" });
    const badDuration = await cli('features', 'schedule', model, '--every', '15 parsecs');
    assert.deepEqual(badDuration, { code: EXIT.userError, text: "--every must be a duration like 15m, 1h or 1d, got '15 parsecs'" });
    const badAsOf = await cli('features', 'refresh', model, '--as-of', 'yesterday');
    assert.equal(badAsOf.code, EXIT.userError);
    assert.match(badAsOf.text, /--as-of must be one of data-end, now, got 'yesterday'/);

    const compactionExisted = await stack.client.schedule.getHandle(compactionScheduleId).describe().then(() => true, () => false);
    try {
      const compaction = await cli('monitor', 'compaction-schedule', '--every', '2h', '--closed-after', '10m');
      assert.equal(compaction.code, EXIT.ok, compaction.text);
      assert.match(compaction.text, /^(created|updated) schedule prediction-log-compaction: compacts every model's prediction log every 2h \(an hour counts as closed 10m after its end\)$/);
      const badClosedAfter = await cli('monitor', 'compaction-schedule', '--closed-after', 'soon');
      assert.deepEqual(badClosedAfter, { code: EXIT.userError, text: "--closed-after must be a duration like 15m, 1h or 7d, got 'soon'" });
    } finally {
      if (!compactionExisted) await stack.client.schedule.getHandle(compactionScheduleId).delete().catch(() => undefined);
    }
  });

  test('retention: the newest snapshots stay, older ones go once old enough, and the served one is never removed', async () => {
    const before = await listSnapshots(stack.store, config.buckets.serving, FLIGHTS_SPEC_HASH);
    assert.ok(before.length >= 3, `the runs above wrote ${before.length} snapshots`);
    const served = before.at(-1);
    // Every snapshot here was written within the hour: none is old enough to go.
    assert.equal(await pruneSnapshots(stack.store, config.buckets.serving, FLIGHTS_SPEC_HASH, { keep: 1, minAgeMs: 3_600_000 }, Date.now()), 0);
    assert.equal(await pruneSnapshots(stack.store, config.buckets.serving, FLIGHTS_SPEC_HASH, { keep: 2, minAgeMs: 0 }, Date.now()), before.length - 2);
    const after = await listSnapshots(stack.store, config.buckets.serving, FLIGHTS_SPEC_HASH);
    assert.deepEqual(after.map((s) => s.key), before.slice(-2).map((s) => s.key));
    assert.equal((await newestSnapshot(stack.store, config.buckets.serving, FLIGHTS_SPEC_HASH))?.key, served?.key);
  });
});
