import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { LogBatchBuilder } from '../../../api/prediction-log/log-batch.ts';
import { predictionLogFile } from '../../../api/prediction-log/log-file.ts';
import { createMonitoringActivities } from '../../../activities/monitoring/monitoring-activities.ts';
import { createPredictionLogActivities } from '../../../activities/prediction-log/prediction-log-activities.ts';
import { computeReferenceStats } from '../../../domain/features/reference-stats.ts';
import { parseLogKey } from '../../../domain/prediction-log/log-files.ts';
import { stageLogHours } from '../../../domain/prediction-log/stage-log.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { feedbackKeys, hourPartition, predictionLogKeys, versionTag } from '../../../shared/api/prediction-log.ts';
import type { compactPredictionLog } from '../../../workflows/compact-prediction-log.ts';
import { WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';
import { scratchDuckDbForSuite } from '../../support/scratch-duckdb.ts';
import { stackConfig, stackForSuite, testIds } from '../../support/stack.ts';

/**
 * Compaction of the prediction log on the real stack: files written by the API's own Parquet writer
 * into MinIO for two versions over two hours, compacted by the `compactPredictionLog` workflow on the
 * Temporal dev server; every row is counted (per version and hour, and by content) and drift and
 * performance are computed by the monitoring activities before and after, and while small files and
 * the compacted file coexist.
 */

const FEATURES = { numeric: ['x'], categorical: ['c'] };
// Recent closed hours, within the compaction's lookback, so the late file of the last step is visited.
const FIRST_HOUR_MS = (Math.floor(Date.now() / 3_600_000) - 3) * 3_600_000;
const HOURS = [hourPartition(FIRST_HOUR_MS), hourPartition(FIRST_HOUR_MS + 3_600_000)];
const WINDOW = { from: new Date(FIRST_HOUR_MS).toISOString(), until: new Date(FIRST_HOUR_MS + 2 * 3_600_000).toISOString() };

describe('prediction log compaction on the real stack', () => {
  const config = stackConfig();
  const stack = stackForSuite(config);
  const scratch = scratchDuckDbForSuite('sluice-compaction-it-');
  const model = `compaction-${Date.now().toString(36)}`;
  const bucket = config.buckets.predictions;
  const written = new Map<string, number>();
  let files = 0;

  /** One API log file: `requests` requests of 1-3 events in `hour`, seeded; returns its key. */
  async function writeLogFile(version: number, hour: string, seed: number, requests: number): Promise<string> {
    let s = seed;
    const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    const start = Date.parse(`${hour}:00:00Z`);
    const builder = new LogBatchBuilder({ model, version, hour, threshold: 0.5, featureNames: FEATURES }, start);
    let rows = 0;
    for (let r = 0; r < requests; r++) {
      const n = 1 + Math.floor(next() * 3);
      rows += n;
      builder.add({
        requestId: `${model}-v${version}-${hour}-${seed}-${r}`,
        routingKey: undefined,
        at: start + Math.floor(next() * 3_599_000),
        route: version === 1 ? 'primary' : 'canary',
        latencyMs: next() * 5,
        features: { rows: n, numeric: Float32Array.from({ length: n }, () => (next() < 0.1 ? NaN : next() * 100 + version * 10)), categorical: Array.from({ length: n }, () => `k${Math.floor(next() * 4)}`) },
        scores: Float32Array.from({ length: n }, () => next()),
      });
    }
    const path = join(scratch.dir, `w${files++}.parquet`);
    writeFileSync(path, Buffer.concat(predictionLogFile(builder.seal())));
    const key = predictionLogKeys.file(model, hour, `${versionTag(version)}-${1_770_000_000_000 + seed}-${seed.toString(16).padStart(12, '0')}`);
    await stack.store.putFile(bucket, key, path);
    written.set(`${version}/${hour}`, (written.get(`${version}/${hour}`) ?? 0) + rows);
    return key;
  }

  /** What readers see: rows per version and hour, every row's content, and the monitoring activities' figures per version. */
  async function measure() {
    const paths = await stageLogHours({ store: stack.store, bucket, db: scratch.db, dir: scratch.dir }, { model, hours: HOURS });
    const files = `[${paths.map((p) => `'${p}'`).join(', ')}]`;
    const counts = (await scratch.db.runAndReadAll(`SELECT model_version || '/' || strftime(predicted_at, '%Y-%m-%dT%H') AS k, count(*)::INTEGER AS n FROM read_parquet(${files}) GROUP BY ALL ORDER BY k`)).getRowObjectsJS();
    const content = (await scratch.db.runAndReadAll(`SELECT md5(string_agg(row::VARCHAR, '|' ORDER BY row::VARCHAR)) AS digest, count(DISTINCT (request_id, event_index, model_version)) AS distinct_rows FROM (SELECT r AS row, request_id, event_index, model_version FROM read_parquet(${files}) r)`)).getRowObjectsJS()[0];
    const env = new MockActivityEnvironment();
    const monitoring = createMonitoringActivities({ store: stack.store, buckets: config.buckets });
    const figures = [];
    for (const version of [1, 2]) {
      const input = { model, version, ...WINDOW };
      type Drift = Awaited<ReturnType<typeof monitoring.computeDrift>>;
      type Performance = Awaited<ReturnType<typeof monitoring.computePerformance>>;
      const drift = await env.run<[typeof input], Drift, (i: typeof input) => Promise<Drift>>((i) => monitoring.computeDrift(i), input);
      const performance = await env.run<[typeof input], Performance, (i: typeof input) => Promise<Performance>>((i) => monitoring.computePerformance(i), input);
      // Sums of floats in another row order may differ in the last bits: compared to 12 digits.
      const digits = (x: number | null) => (x === null ? null : Number(x.toPrecision(12)));
      figures.push({ version, rows: drift.rows, driftShare: drift.driftShare, top: drift.top, scoreCounts: drift.scoreCounts, performance: { ...performance, rocAuc: digits(performance.rocAuc), logLoss: digits(performance.logLoss) } });
    }
    return { counts: Object.fromEntries(counts.map((r) => [r.k as string, Number(r.n)])), content, figures };
  }

  const listing = async () => (await stack.store.list(bucket, predictionLogKeys.prefix(model))).map((o) => ({ key: o.key, etag: o.etag }));

  /** One `compactPredictionLog` run of this model, on the worker the test runs. */
  const compact = (taskQueue: string, workflowId: string) =>
    stack.client.workflow.execute<typeof compactPredictionLog>('compactPredictionLog', { taskQueue, workflowId: `${workflowId}-${files++}`, args: [{ models: [model] }] });

  before(async () => {
    await scratch.db.run(`SET TimeZone = 'UTC'`);
    const referencePath = join(scratch.dir, 'reference.parquet');
    await scratch.db.run(`COPY (SELECT (random() * 100)::DOUBLE AS x, 'k' || (i % 4) AS c, i % 3 = 0 AS label FROM range(2000) t(i)) TO '${referencePath}' (FORMAT parquet)`);
    const stats = await computeReferenceStats(scratch.db, referencePath, { features: [{ name: 'x', kind: 'numeric' }, { name: 'c', kind: 'categorical' }], label: 'label' }, { bins: 10, topCategories: 10 });
    const referenceKey = `compaction-it/${model}/reference-stats.json`;
    await stack.store.put(config.buckets.features, referenceKey, JSON.stringify({ kind: 'sluice.reference-stats', featureSpecHash: 'a'.repeat(64), datasetVersion: 'b'.repeat(64), split: 'train', ...stats }));
    const registry = new ModelRegistry(stack.store, config.buckets.models);
    for (const version of [1, 2]) {
      await registry.register({
        manifest: { name: model, datasetVersion: 'b'.repeat(64), featureDefinitionHash: 'a'.repeat(64), codeVersion: 'test', trainer: { kind: 'gbdt', hyperparameters: {} }, seed: version, metrics: {}, threshold: 0.5, featureNames: FEATURES, reports: { referenceStats: referenceKey }, origin: { workflowId: 'test' } },
        onnx: Buffer.from('not used by compaction'),
        registrationKey: `test-${version}`,
        by: 'test',
      });
    }
    let seed = 1;
    for (const version of [1, 2]) for (const hour of HOURS) for (let f = 0; f < 3; f++) await writeLogFile(version, hour, seed++, 40);
    // Labels for every third request of each file, as the feedback API files them.
    const lines: string[] = [];
    for (let s = 1; s < seed; s++) {
      const [version, hour] = [s <= 6 ? 1 : 2, HOURS[Math.floor(((s - 1) % 6) / 3)] as string];
      for (let r = 0; r < 40; r += 3) lines.push(JSON.stringify({ request_id: `${model}-v${version}-${hour}-${s}-${r}`, event_index: 0, label: (s + r) % 2 === 0 }));
    }
    await stack.store.put(bucket, feedbackKeys.file(HOURS[1] as string, `compaction-${model}`), lines.join('\n'));
  });

  test('compaction keeps every row once, drift and performance unchanged; a second run changes nothing; both states read each row once', async (t) => {
    const { taskQueue, workflowId } = testIds(t.name);
    const worker = await Worker.create({
      connection: stack.nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: createPredictionLogActivities({ store: stack.store, buckets: config.buckets }),
    });
    await worker.runUntil(checkCompaction(taskQueue, workflowId));
  });

  async function checkCompaction(taskQueue: string, workflowId: string) {
    const smallKeys = (await listing()).map((o) => o.key);
    assert.equal(smallKeys.length, 12);
    const beforeCompaction = await measure();
    assert.deepEqual(beforeCompaction.counts, Object.fromEntries([...written.entries()].sort()), 'readers see every written row before compaction');
    assert.equal(Number(beforeCompaction.content?.distinct_rows), [...written.values()].reduce((a, b) => a + b, 0));
    assert.ok(beforeCompaction.figures.every((f) => f.rows > 0 && f.performance.labelled > 0), 'drift and performance have rows to judge');

    const first = await compact(taskQueue, workflowId);
    assert.equal(first.compacted, 4, 'two versions × two hours');
    assert.equal(first.removed, 12);
    const compacted = await listing();
    assert.deepEqual(compacted.map((o) => o.key).sort(), [1, 2].flatMap((v) => HOURS.map((h) => predictionLogKeys.compacted(model, h, v))).sort(), 'only the compacted files are left');
    for (const { key } of compacted) {
      const path = join(scratch.dir, `check-${files++}.parquet`);
      await stack.store.getFile(bucket, key, path);
      const file = parseLogKey(key);
      assert.ok(file);
      const [row] = (await scratch.db.runAndReadAll(`SELECT count(*)::INTEGER AS n, min(model_version) AS v, min(strftime(predicted_at, '%Y-%m-%dT%H')) AS h FROM '${path}'`)).getRowObjectsJS();
      assert.deepEqual(row, { n: written.get(`${file.version}/${file.hour}`), v: file.version, h: file.hour }, `rows of ${key}`);
      const codecs = (await scratch.db.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${path}')`)).getRowObjectsJS().map((r) => r.compression);
      assert.deepEqual(codecs, ['ZSTD']);
    }
    assert.deepEqual(await measure(), beforeCompaction, 'same rows, same content, same drift and performance after compaction');

    const second = await compact(taskQueue, workflowId);
    assert.deepEqual([second.compacted, second.removed, second.models[0]?.changed], [0, 0, []], 'a second run changes nothing');
    assert.deepEqual(await listing(), compacted, 'same objects, same etags');

    // Both states: a small file the compacted file holds is back (as after a crash between the write and the deletes)...
    const heldKey = predictionLogKeys.file(model, HOURS[0] as string, `${versionTag(1)}-${1_770_000_000_001}-${'1'.padStart(12, '0')}`);
    assert.ok(smallKeys.includes(heldKey));
    await stack.store.putFile(bucket, heldKey, join(scratch.dir, 'w0.parquet'));
    // ...and a file that arrived after its hour was compacted (an upload retried after an outage).
    const held = beforeCompaction.counts[`1/${HOURS[0]}`] as number;
    await writeLogFile(1, HOURS[0] as string, 99, 10);
    const lateRows = (written.get(`1/${HOURS[0]}`) as number) - held;
    assert.ok(lateRows > 0);
    const mixed = await measure();
    assert.equal(mixed.counts[`1/${HOURS[0]}`], held + lateRows, 'the held small file counted once, the late one counted');
    assert.deepEqual({ ...mixed.counts, [`1/${HOURS[0]}`]: held }, beforeCompaction.counts, 'other hours untouched');

    const third = await compact(taskQueue, workflowId);
    assert.deepEqual(third.models[0]?.changed.map((c) => [c.hour, c.version, c.outcome, c.merged, c.removed]), [[HOURS[0], 1, 'compacted', 1, 2]], 'the late file merged, both small files deleted');
    assert.equal((await listing()).length, 4);
    assert.deepEqual((await measure()).counts, mixed.counts, 'the same rows after merging the late file');
  }
});
