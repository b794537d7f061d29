import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { OnlineFeatureAssemblers } from '../../../api/features/online-feature-assembler.ts';
import { failureLogFile } from '../../../api/prediction-log/log-file.ts';
import { StoredFeatureDefinitions } from '../../../api/features/stored-feature-definitions.ts';
import type { Readiness } from '../../../api/health/readiness.ts';
import { EXIT, runCli } from '../../../cli/main.ts';
import { createErasureActivities } from '../../../activities/prediction-log/erasure-activities.ts';
import { createPredictionLogActivities } from '../../../activities/prediction-log/prediction-log-activities.ts';
import { createRetentionActivities } from '../../../activities/prediction-log/retention-activities.ts';
import type { ArtifactStore } from '../../../domain/object-store/artifact-store.ts';
import { compactHour } from '../../../domain/prediction-log/compact-log.ts';
import { eraseHour } from '../../../domain/prediction-log/erase-rows.ts';
import { parseLogKey } from '../../../domain/prediction-log/log-files.ts';
import { stageLogHours } from '../../../domain/prediction-log/stage-log.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { feedbackKeys, hourPartition, predictionFailureKeys, predictionLogKeys } from '../../../shared/api/prediction-log.ts';
import { retentionScheduleId } from '../../../shared/prediction-log-retention.ts';
import { upsertRetentionSchedule } from '../../../control/monitor-schedule.ts';
import { expireModelData } from '../../../domain/prediction-log/retention.ts';
import type { EnforceRetentionResult } from '../../../workflows/enforce-retention.ts';
import type { Config } from '../../../shared/config.ts';
import { createLogger } from '../../../shared/logger.ts';
import { type ErasureRecord, erasureRecordSchema } from '../../../shared/prediction-log-erasure.ts';
import { erasureKeys, featureKeys } from '../../../shared/storage-keys.ts';
import type { compactPredictionLog } from '../../../workflows/compact-prediction-log.ts';
import type { eraseLoggedRows } from '../../../workflows/erase-logged-rows.ts';
import { WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';
import { KEYS, type TestApi, startTestApi, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { FLIGHTS_SPEC, FLIGHTS_SPEC_HASH, flightEvent, flightsManifest, flightsSnapshot, registerTrainedFlightsModel, trainFlightsModel } from '../../unit/api/support/flights-model.ts';
import { featureSpecSchema } from '../../../shared/data/feature-spec.ts';
import { featureDefinitionHash } from '../../../domain/features/spec-hash.ts';
import { writeSnapshot } from '../../../domain/features/online-snapshot-loader.ts';
import { hashLogValue } from '../../../domain/prediction-log/log-hash.ts';
import { scratchDuckDbForSuite } from '../../support/scratch-duckdb.ts';
import { type TemporalHandles, connectToStack, stackConfig, testIds } from '../../support/stack.ts';
import { isolatedConfig, storeFlightsFeatures } from '../api/minio-support.ts';

/**
 * Erasure on the real stack: predictions and feedback go through the real API into MinIO; the API's
 * files are then moved into two past (closed) hours (with a failed-prediction file beside them), the first compacted before the second arrives, and a third flush stays
 * in the open hour. `eraseLoggedRows` runs on the Temporal dev server, by request id (workflow) and by
 * routing key (`sluice erase`): the rows are gone from every file, everything else is still there
 * once, feedback lost exactly the erased requests' labels, the record is in the reports bucket, and
 * the open hour is left alone (named in the record, or waited for on a durable timer). Then both
 * races with compaction, forced at the worst moment, and retention run by the model's Schedule.
 */

const HOUR_MS = 3_600_000;
const NOW_HOUR = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const PAST_HOURS = [hourPartition(NOW_HOUR - 3 * HOUR_MS), hourPartition(NOW_HOUR - 2 * HOUR_MS)];
const ROUTING_KEYS = ['user-a', 'user-b', 'user-c'];
const HASH_KEY = 'erasure-test-log-hash-key';

describe('erasure of logged rows on the real stack', () => {
  const base = stackConfig();
  // Connected here and closed last by this suite's own after hook: the worker holds the connection until it has stopped.
  let stack: TemporalHandles;
  const scratch = scratchDuckDbForSuite('sluice-erasure-it-');
  const model = `erasure-${Date.now().toString(36)}`;
  const maskedModel = `${model}-masked`;
  let config: Config;
  let api: TestApi;
  let definitions: StoredFeatureDefinitions;
  let worker: Worker;
  let running: Promise<void>;
  let taskQueue: string;
  let workflowId: string;
  /** request id → events and routing key, as sent. */
  const sent = new Map<string, { events: number; routingKey: string }>();

  const bucket = () => config.buckets.predictions;

  async function predict(from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) {
      const requestId = `req-${i}`;
      const events = i % 4 === 0 ? 3 : 1;
      const routingKey = ROUTING_KEYS[i % ROUTING_KEYS.length] as string;
      const body = events === 1 ? { event: flightEvent(i), routingKey } : { events: [0, 1, 2].map((k) => flightEvent(i * 10 + k)), routingKey };
      const res = await api.request('POST', `/v1/models/${model}/predict`, { key: KEYS.predict, body, headers: { 'x-request-id': requestId } });
      assert.equal(res.status, 200, res.text);
      sent.set(requestId, { events, routingKey });
    }
    const labels = [];
    for (let i = from; i < to; i++) labels.push({ requestId: `req-${i}`, eventIndex: 0, label: i % 2 === 0 });
    assert.equal((await api.request('POST', `/v1/models/${model}/feedback`, { key: KEYS.feedback, body: { labels } })).status, 200);
    await api.predictionLog.flush();
    const readiness = (await api.request<Readiness>('GET', '/readyz')).json;
    assert.equal(readiness.predictionLog.heldRows, 0, 'every row uploaded');
  }

  /** Moves the API's small files of the current hour into `hour`, as if logged then. */
  async function moveCurrentFilesTo(store: ArtifactStore, hour: string): Promise<void> {
    for (const object of await store.list(bucket(), predictionLogKeys.hourPrefix(model, hourPartition(Date.now())))) {
      const file = parseLogKey(object.key);
      assert.ok(file && !file.compacted);
      const path = join(scratch.dir, 'move.parquet');
      await store.getFile(bucket(), object.key, path);
      await store.putFile(bucket(), predictionLogKeys.file(model, hour, file.fileId), path);
      await store.remove(bucket(), object.key);
    }
  }

  /**
   * The flights model again, under a spec that hashes origin_airport and drops destination_airport in
   * the log: its own spec hash, feature build manifest and online snapshot, as a feature build leaves them.
   */
  async function registerMaskedModel(registry: ModelRegistry, trained: Awaited<ReturnType<typeof trainFlightsModel>>) {
    const spec = featureSpecSchema.parse({ ...FLIGHTS_SPEC, features: FLIGHTS_SPEC.features.map((f) => (f.name === 'origin_airport' ? { ...f, log: 'hash' } : f.name === 'destination_airport' ? { ...f, log: 'drop' } : f)) });
    const hash = featureDefinitionHash(spec);
    const snapshot = { ...flightsSnapshot(), featureSpecHash: hash };
    const build = JSON.parse((await stack.store.get(config.buckets.features, featureKeys.manifest(FLIGHTS_SPEC_HASH, snapshot.datasetVersion))).toString('utf8')) as Record<string, unknown>;
    await stack.store.put(config.buckets.features, featureKeys.manifest(hash, snapshot.datasetVersion), JSON.stringify({ ...build, featureSpecHash: hash, spec }));
    await writeSnapshot(stack.store, config.buckets.serving, snapshot);
    const registrationKey = `test-${maskedModel}`;
    return registry.register({
      manifest: { ...flightsManifest(maskedModel, trained, registrationKey), featureDefinitionHash: hash },
      onnx: (version) => trained.model.toOnnx({ modelName: maskedModel, modelVersion: version, lineage: { featureDefinitionHash: hash }, threshold: trained.threshold }),
      registrationKey,
      by: 'test',
    });
  }

  /** Rows readers see per request id, over every hour (past and current). */
  async function loggedRows(): Promise<Map<string, number>> {
    const hours = [...PAST_HOURS, hourPartition(Date.now())];
    const paths = await stageLogHours({ store: stack.store, bucket: bucket(), db: scratch.db, dir: scratch.dir }, { model, hours });
    if (paths.length === 0) return new Map();
    const rows = (await scratch.db.runAndReadAll(`SELECT request_id, count(*)::INTEGER AS n FROM read_parquet([${paths.map((p) => `'${p}'`).join(', ')}]) GROUP BY ALL`)).getRowObjectsJS();
    return new Map(rows.map((r) => [r.request_id as string, r.n as number]));
  }

  /** Every row physically in any object of the model's log (not only what readers read): no copy may hide in a file readers skip. */
  async function rowsInEveryObject(requestIds: readonly string[]): Promise<number> {
    let found = 0;
    for (const [i, object] of (await stack.store.list(bucket(), predictionLogKeys.prefix(model))).entries()) {
      const path = join(scratch.dir, `every-${i}.parquet`);
      await stack.store.getFile(bucket(), object.key, path);
      const n = (await scratch.db.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${path}') WHERE request_id IN (${requestIds.map((r) => `'${r}'`).join(', ')})`)).getRowObjectsJS()[0]?.n;
      found += Number(n);
    }
    return found;
  }

  async function feedbackRequestIds(): Promise<string[]> {
    const ids: string[] = [];
    for (const object of await stack.store.list(bucket(), feedbackKeys.prefix)) {
      for (const line of (await stack.store.get(bucket(), object.key)).toString('utf8').split('\n')) if (line) ids.push((JSON.parse(line) as { request_id: string }).request_id);
    }
    return ids.sort();
  }

  /** `RECORD_HISTORIES=true` saves a run's history as a fixture test/workflow/replay.test.ts replays against later code. */
  function recordHistory(runId: string, file: string): void {
    if (process.env.RECORD_HISTORIES !== 'true') return;
    const json = execFileSync(config.binaries.temporal ?? 'temporal', ['workflow', 'show', '--workflow-id', runId, '--address', config.temporal.address, '--namespace', config.temporal.namespace, '--output', 'json']);
    writeFileSync(join(import.meta.dirname, '..', '..', 'workflow', 'histories', file), json);
  }

  const expectedRows = (keep: (id: string) => boolean) => new Map([...sent].filter(([id]) => keep(id)).map(([id, s]) => [id, s.events]));
  const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => a.localeCompare(b));

  before(async () => {
    stack = await connectToStack(base);
    config = await isolatedConfig(stack.store, { SLUICE_SERVING_LOG_FLUSH_INTERVAL_MS: '60000', SLUICE_SERVING_POLL_INTERVAL_MS: '5000', SLUICE_LOG_HASH_KEY: HASH_KEY });
    await stack.store.ensureBucket(config.buckets.reports);
    ({ taskQueue, workflowId } = testIds('erasure'));
    await storeFlightsFeatures(stack.store, config);
    const registry = new ModelRegistry(stack.store, config.buckets.models);
    const trained = await trainFlightsModel();
    const manifest = await registerTrainedFlightsModel(registry, model, trained);
    const masked = await registerMaskedModel(registry, trained);
    await writeServingConfig(stack.store, config, { [model]: { primary: manifest.version }, [maskedModel]: { primary: masked.version } }, 1);
    definitions = new StoredFeatureDefinitions(stack.store, config.buckets, 5000, createLogger('error'));
    api = await startTestApi({ store: stack.store, config, assemblers: new OnlineFeatureAssemblers(definitions) });
    await api.firstPoll;
    worker = await Worker.create({
      connection: stack.nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: { ...createPredictionLogActivities({ store: stack.store, buckets: config.buckets }), ...createErasureActivities({ store: stack.store, buckets: config.buckets }), ...createRetentionActivities({ store: stack.store, buckets: config.buckets }) },
    });
    running = worker.run();
    // Three flushes: two become closed hours (the first compacted before the erasure), one stays in the open hour.
    await predict(0, 12);
    await moveCurrentFilesTo(stack.store, PAST_HOURS[0] as string);
    await stack.client.workflow.execute<typeof compactPredictionLog>('compactPredictionLog', { taskQueue, workflowId: `${workflowId}-compact`, args: [{ models: [model] }] });
    await predict(12, 24);
    await moveCurrentFilesTo(stack.store, PAST_HOURS[1] as string);
    await predict(24, 30);
  });

  after(async () => {
    await stack?.client.schedule.getHandle(retentionScheduleId(model)).delete().catch(() => undefined);
    await api?.[Symbol.asyncDispose]();
    definitions?.close();
    worker?.shutdown();
    await running;
    await stack?.[Symbol.asyncDispose]();
  });

  test('erasing by request id removes those rows from the raw and the compacted hour and their labels, and records it', async () => {
    assert.deepEqual(sorted(await loggedRows()), sorted(expectedRows(() => true)), 'the API logged every row');
    // A failed-prediction file (the API's writer) in the raw hour, with one of the subject's requests.
    const failure = (requestId: string, routingKey: string) => ({ requestId, routingKey, at: Date.parse(`${PAST_HOURS[1]}:30:00Z`), route: 'primary' as const, events: 1, error: 'Internal', latencyMs: 1 });
    const failurePath = join(scratch.dir, 'failures.parquet');
    writeFileSync(failurePath, Buffer.concat(failureLogFile({ model, version: 1, hour: PAST_HOURS[1] as string, since: 0, failures: [failure('req-13', 'user-b'), failure('other-1', 'user-z')] })));
    const failureKey = predictionFailureKeys.file(model, PAST_HOURS[1] as string, 'v000001-1-failures000');
    await stack.store.putFile(bucket(), failureKey, failurePath);
    const erased = ['req-4', 'req-13', 'req-26'];
    const started = Date.now();
    const record = await stack.client.workflow.execute<typeof eraseLoggedRows>('eraseLoggedRows', {
      taskQueue,
      workflowId: `${workflowId}-by-id`,
      args: [{ model, match: { requestIds: erased }, requestedBy: 'dpo@example.com', reason: 'subject access request 17', waitForOpenHours: false }],
    });
    console.log(`erased ${record.predictionLog.rowsErased} rows of ${record.predictionLog.requests} requests in ${record.predictionLog.files.length} files (${record.predictionLog.hoursVisited} hours) and ${record.feedback.rowsErased} labels in ${Date.now() - started} ms`);

    // req-4 is a batch of 3 in the compacted hour, req-13 one row in the raw hour and one failed request; req-26 is in the open hour, not erased.
    assert.equal(record.predictionLog.rowsErased, 5);
    assert.equal(record.predictionLog.requests, 2);
    assert.deepEqual(record.predictionLog.files.map((f) => [f.key.startsWith('predictions/') ? parseLogKey(f.key)?.hour : f.key, f.rowsErased, f.outcome]).sort(), [
      [PAST_HOURS[0], 3, 'rewritten'],
      [PAST_HOURS[1], 1, 'rewritten'],
      [failureKey, 1, 'rewritten'],
    ]);
    await stack.store.getFile(bucket(), failureKey, failurePath);
    assert.deepEqual((await scratch.db.runAndReadAll(`SELECT request_id FROM read_parquet('${failurePath}')`)).getRowObjectsJS(), [{ request_id: 'other-1' }], 'the failed-prediction log keeps the others');
    assert.deepEqual(record.openHoursNotErased, [hourPartition(Date.now())]);
    assert.deepEqual(sorted(await loggedRows()), sorted(expectedRows((id) => id !== 'req-4' && id !== 'req-13')));
    assert.equal(await rowsInEveryObject(['req-4', 'req-13']), 0, 'no object of the log holds them any more');
    assert.equal(record.feedback.rowsErased, 3, 'labels of the asked-for ids, req-26 too');
    const labels = await feedbackRequestIds();
    for (const id of erased) assert.ok(!labels.includes(id));
    assert.equal(labels.length, 30 - 3);

    recordHistory(`${workflowId}-by-id`, 'erase-logged-rows-closed-hours.json');
    const stored = erasureRecordSchema.parse(JSON.parse((await stack.store.get(config.buckets.reports, erasureKeys.record(model, `${workflowId}-by-id`))).toString('utf8')));
    assert.deepEqual(stored, record);
    assert.equal(stored.requestedBy, 'dpo@example.com');
    assert.equal(stored.reason, 'subject access request 17');
    assert.deepEqual(stored.match.requestIdSha256, erased.map((id) => createHash('sha256').update(id).digest('hex')));
    assert.ok(!JSON.stringify(stored).includes('req-4'), 'the record keeps digests, not the identifiers');

    const again = await stack.client.workflow.execute<typeof eraseLoggedRows>('eraseLoggedRows', { taskQueue, workflowId: `${workflowId}-by-id-again`, args: [{ model, match: { requestIds: erased }, requestedBy: 'dpo@example.com', waitForOpenHours: false }] });
    assert.equal(again.predictionLog.rowsErased + again.feedback.rowsErased, 0, 'running it again finds nothing');
  });

  test('sluice erase --routing-key removes every request of that key and its labels', async () => {
    const env = { ...process.env, SLUICE_BUCKET_PREDICTIONS: config.buckets.predictions, SLUICE_BUCKET_SERVING: config.buckets.serving, SLUICE_TASK_QUEUE_PIPELINE: taskQueue };
    const out: string[] = [];
    const code = await runCli(['erase', '--model', model, '--routing-key', 'user-b', '--by', 'ana', '--reason', 'account closed', '--wait', '--skip-open-hours', '--json'], { write: (l) => out.push(l), error: (l) => out.push(l), env });
    assert.equal(code, EXIT.ok, out.join('\n'));
    const record = JSON.parse(out.join('\n')) as ErasureRecord;
    // user-b's closed requests, less req-4 and req-13, erased by the previous test.
    const closedUserB = [...sent].filter(([id, s]) => s.routingKey === 'user-b' && Number(id.slice(4)) < 24 && id !== 'req-4' && id !== 'req-13');
    assert.equal(record.predictionLog.requests, closedUserB.length);
    assert.equal(record.predictionLog.rowsErased, closedUserB.reduce((s, [, v]) => s + v.events, 0));
    assert.equal(record.feedback.rowsErased, closedUserB.length);
    assert.equal(record.requestedBy, 'ana');
    const gone = new Set(['req-4', 'req-13', ...closedUserB.map(([id]) => id)]);
    assert.deepEqual(sorted(await loggedRows()), sorted(expectedRows((id) => !gone.has(id))));
    const usage = await runCli(['erase', '--model', model], { write: () => undefined, error: (l) => out.push(l), env });
    assert.equal(usage, EXIT.userError, 'neither ids nor keys: refused before anything starts');
  });

  test('by default the open hour is erased only once it has closed: the run erases the closed hours, then waits on a durable timer', async () => {
    const handle = await stack.client.workflow.start<typeof eraseLoggedRows>('eraseLoggedRows', {
      taskQueue,
      workflowId: `${workflowId}-waits`,
      args: [{ model, match: { requestIds: ['req-17', 'req-27'] }, requestedBy: 'dpo@example.com' }],
    });
    try {
      let details = '';
      for (const deadline = Date.now() + 20_000; !details.includes('waiting until') && Date.now() < deadline; await sleep(100)) {
        details = (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
      }
      assert.match(details, new RegExp(`^Erased 1 rows of closed hours; waiting until .* for .*${hourPartition(Date.now())} to close$`));
      const rows = await loggedRows();
      assert.equal(rows.get('req-17'), undefined, 'the closed hour is erased at once');
      assert.equal(rows.get('req-27'), 1, 'the open hour is left to the API until it has closed');
    } finally {
      await handle.terminate('the open hour closes after the test');
    }
  });

  test('a compaction that lands between the erasure reading a file and replacing it makes the erasure redo the hour; one that read before the erasure loses its write', async () => {
    const hour = PAST_HOURS[1] as string;
    const victim = 'req-14';
    const lateKey = predictionLogKeys.file(model, hour, 'v000001-9999999999999-late00000000');
    // A late upload for the hour: a copy of a current-hour file (rows of req-24..29) under the closed hour.
    const current = (await stack.store.list(bucket(), predictionLogKeys.hourPrefix(model, hourPartition(Date.now()))))[0];
    assert.ok(current);
    const latePath = join(scratch.dir, 'late.parquet');
    await stack.store.getFile(bucket(), current.key, latePath);
    const db = scratch.db;
    const deps = (store: ArtifactStore) => ({ store, bucket: bucket(), db, dir: scratch.dir });
    let raced = false;
    // The erasure's store: just before its conditional write of the compacted file, a late file lands and a compaction merges it.
    const racingStore: ArtifactStore = Object.assign(Object.create(stack.store) as ArtifactStore, {
      putFile: async (b: string, key: string, path: string, options?: Parameters<ArtifactStore['putFile']>[3]) => {
        if (!raced && parseLogKey(key)?.compacted) {
          raced = true;
          await stack.store.putFile(bucket(), lateKey, latePath);
          await compactHour(deps(stack.store), model, hour);
        }
        return stack.store.putFile(b, key, path, options);
      },
    });
    const erased = await eraseHour(deps(racingStore), model, hour, { requestIds: [victim], routingKeys: [] });
    assert.ok(raced);
    assert.equal(erased.files.length, 1);
    assert.equal(erased.files[0]?.rowsErased, sent.get(victim)?.events);
    assert.equal(await rowsInEveryObject([victim]), 0);

    // The other order: a compaction staged the hour, then the erasure ran, then the compaction writes: it must lose.
    const second = 'req-15';
    await stack.store.putFile(bucket(), predictionLogKeys.file(model, hour, 'v000001-9999999999999-late00000001'), latePath);
    let erasedMeanwhile = false;
    const slowCompactionStore: ArtifactStore = Object.assign(Object.create(stack.store) as ArtifactStore, {
      putFile: async (b: string, key: string, path: string, options?: Parameters<ArtifactStore['putFile']>[3]) => {
        if (!erasedMeanwhile && parseLogKey(key)?.compacted) {
          erasedMeanwhile = true;
          await eraseHour(deps(stack.store), model, hour, { requestIds: [second], routingKeys: [] });
        }
        return stack.store.putFile(b, key, path, options);
      },
    });
    const compaction = await compactHour(deps(slowCompactionStore), model, hour);
    assert.ok(erasedMeanwhile);
    assert.deepEqual(compaction.map((c) => c.outcome), ['raced'], 'the compaction lost its conditional write');
    assert.equal(await rowsInEveryObject([second]), 0, 'and could not put the erased rows back');
  });

  test('retention deletes the hours past it once they are compacted, the failed-prediction files of those hours, and the model\'s expired labels', async () => {
    // With 2h: every hour that ended 2 h ago or more is expired: PAST_HOURS[0] (and an older one), not PAST_HOURS[1].
    const [expired, kept] = PAST_HOURS as [string, string];
    const older = hourPartition(NOW_HOUR - 4 * HOUR_MS);
    const current = (await stack.store.list(bucket(), predictionLogKeys.hourPrefix(model, hourPartition(Date.now()))))[0];
    assert.ok(current);
    const path = join(scratch.dir, 'older.parquet');
    await stack.store.getFile(bucket(), current.key, path);
    await stack.store.putFile(bucket(), predictionLogKeys.file(model, older, 'v000001-1-older0000000'), path);
    await stack.store.put(bucket(), predictionFailureKeys.file(model, expired, 'v000001-1-failures000'), 'a failed-prediction file');
    // The labels of the first twelve requests, as if received in the expired hour, beside labels of another model and of none.
    let movedLabels = 0;
    for (const object of await stack.store.list(bucket(), feedbackKeys.prefix)) {
      const text = (await stack.store.get(bucket(), object.key)).toString('utf8');
      if (!text.includes('"request_id":"req-0"')) continue;
      movedLabels = text.split('\n').filter((l) => l.length > 0).length;
      await stack.store.put(bucket(), feedbackKeys.file(expired, 'moved'), text);
      await stack.store.remove(bucket(), object.key);
    }
    assert.ok(movedLabels > 0);
    const othersKey = feedbackKeys.file(expired, 'others');
    await stack.store.put(bucket(), othersKey, `${JSON.stringify({ request_id: 'x', event_index: 0, label: true, model: 'another-model' })}\n${JSON.stringify({ request_id: 'y', event_index: 0, label: false })}\n`);
    const retention = { predictionLog: '2h', feedback: '2h' };

    // Not compacted yet: the older hour stays.
    const early = await expireModelData({ store: stack.store, bucket: bucket() }, { model, retention, nowMs: Date.now() });
    assert.deepEqual(early.predictionLog.awaitingCompaction, [older]);
    assert.deepEqual(early.predictionLog.hoursDeleted, [expired]);
    assert.ok((await stack.store.list(bucket(), predictionLogKeys.hourPrefix(model, older))).length > 0);

    // The Schedule's run compacts it first, then deletes it.
    const { scheduleId } = await upsertRetentionSchedule({ client: stack.client, config: { ...config, taskQueues: { ...config.taskQueues, pipeline: taskQueue } } }, { model, retention, every: '1d' });
    const handle = stack.client.schedule.getHandle(scheduleId);
    const started = Date.now();
    await handle.trigger();
    let runId: string | undefined;
    for (const deadline = Date.now() + 20_000; runId === undefined && Date.now() < deadline; await sleep(100)) runId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
    assert.ok(runId, 'the schedule fired');
    const result = (await stack.client.workflow.getHandle(runId).result()) as EnforceRetentionResult;
    recordHistory(runId, 'enforce-retention.json');
    console.log(`retention run: ${result.retention.predictionLog.hoursDeleted.length} hours (${result.retention.predictionLog.filesDeleted} files) and ${result.retention.feedback.labelsDeleted} labels deleted in ${Date.now() - started} ms`);
    assert.ok(result.compaction.changed.some((c) => c.hour === older && c.outcome === 'compacted'));
    assert.deepEqual(result.retention.predictionLog.hoursDeleted, [older]);
    assert.deepEqual(result.retention.predictionLog.awaitingCompaction, []);
    const hoursLeft = new Set((await stack.store.list(bucket(), predictionLogKeys.prefix(model))).map((o) => parseLogKey(o.key)?.hour));
    assert.deepEqual([...hoursLeft].sort(), [kept, hourPartition(Date.now())]);
    assert.deepEqual((await stack.store.list(bucket(), predictionFailureKeys.prefix(model))).map((o) => o.key), [predictionFailureKeys.file(model, kept, 'v000001-1-failures000')], 'only the kept hour\'s failures are left');
    assert.equal(early.predictionLog.failureFilesDeleted, 1);

    assert.equal(early.feedback.labelsDeleted, movedLabels, 'the model\'s labels of the expired hour');
    assert.equal(early.feedback.filesDeleted, 1);
    assert.equal(result.retention.feedback.filesVisited, 0, 'the next run visits only hours expired since');
    assert.equal((await stack.store.get(bucket(), othersKey)).toString('utf8').split('\n').filter((l) => l).length, 2, 'labels of another model or of none are kept');
  });

  test('a feature the spec marks hash is logged by the real API as its keyed hash, one marked drop as NULL', async () => {
    const events = [flightEvent(1), flightEvent(2)];
    const res = await api.request('POST', `/v1/models/${maskedModel}/predict`, { key: KEYS.predict, body: { events }, headers: { 'x-request-id': 'masked-1' } });
    assert.equal(res.status, 200, res.text);
    await api.predictionLog.flush();
    const paths = await stageLogHours({ store: stack.store, bucket: bucket(), db: scratch.db, dir: scratch.dir }, { model: maskedModel, hours: [hourPartition(Date.now())] });
    const rows = (await scratch.db.runAndReadAll(`SELECT features.origin_airport AS origin, features.destination_airport AS destination FROM read_parquet([${paths.map((p) => `'${p}'`).join(', ')}]) ORDER BY event_index`)).getRowObjectsJS();
    assert.deepEqual(rows, events.map((e) => ({ origin: hashLogValue(HASH_KEY, e.origin), destination: null })));
  });
});
