import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { LogBatchBuilder, type PredictionLogEntry } from '../../../api/prediction-log/log-batch.ts';
import { failureLogFile, predictionLogFile } from '../../../api/prediction-log/log-file.ts';
import { PREDICTION_ROUTES } from '../../../shared/api/prediction-log.ts';

// The hand-written Parquet files are read back with DuckDB, the reader the platform's monitoring uses.

const dir = mkdtempSync(join(tmpdir(), 'sluice-log-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = await (await DuckDBInstance.create(':memory:')).connect();
let files = 0;

async function read(parts: Uint8Array[], select = '*', from = 'read_parquet'): Promise<Record<string, unknown>[]> {
  const path = join(dir, `f${files++}.parquet`);
  writeFileSync(path, Buffer.concat(parts));
  const reader = await db.runAndReadAll(`SELECT ${select} FROM ${from}('${path}')`);
  return reader.getRowObjectsJS();
}

/** A seeded generator, so a failing case can be run again. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('a prediction log file reads back with every field of every prediction, missing values as nulls', async () => {
  const builder = new LogBatchBuilder({ model: 'flights', version: 3, hour: '2026-11-23T15', threshold: 0.3, featureNames: { numeric: ['distance', 'hour'], categorical: ['origin', 'dest'] } }, 1000);
  builder.add({ requestId: 'r-1', routingKey: 'Zürich-κλειδί', at: Date.UTC(2026, 10, 23, 15, 4, 5, 678), route: 'canary', latencyMs: 1.25, features: { rows: 2, numeric: Float32Array.from([100, NaN, 2500.5, 7]), categorical: ['JFK', '', '東京', 'LAX'] }, scores: Float32Array.from([0.25, 0.3, 9]) });
  builder.add({ requestId: 'r-2', routingKey: undefined, at: Date.UTC(2026, 10, 23, 15, 59, 59, 999), route: 'primary', latencyMs: 0.5, features: { rows: 1, numeric: Float32Array.from([NaN, NaN]), categorical: ['', 'JFK'] }, scores: Float32Array.from([0.75]) });
  const rows = await read(predictionLogFile(builder.seal()), '* EXCLUDE (predicted_at), strftime(predicted_at, \'%Y-%m-%d %H:%M:%S.%g\') AS predicted_at');
  assert.deepEqual(rows, [
    { request_id: 'r-1', event_index: 0, model: 'flights', model_version: 3, route: 'canary', routing_key: 'Zürich-κλειδί', score: 0.25, threshold: Math.fround(0.3), label: false, latency_ms: 1.25, features: { distance: 100, hour: null, origin: 'JFK', dest: null }, predicted_at: '2026-11-23 15:04:05.678' },
    { request_id: 'r-1', event_index: 1, model: 'flights', model_version: 3, route: 'canary', routing_key: 'Zürich-κλειδί', score: Math.fround(0.3), threshold: Math.fround(0.3), label: true, latency_ms: 1.25, features: { distance: 2500.5, hour: 7, origin: '東京', dest: 'LAX' }, predicted_at: '2026-11-23 15:04:05.678' },
    { request_id: 'r-2', event_index: 0, model: 'flights', model_version: 3, route: 'primary', routing_key: null, score: 0.75, threshold: Math.fround(0.3), label: true, latency_ms: 0.5, features: { distance: null, hour: null, origin: null, dest: 'JFK' }, predicted_at: '2026-11-23 15:59:59.999' },
  ]);
  const [described] = await read(predictionLogFile(builderWith(1).seal()), 'typeof(predicted_at) AS at, typeof(features) AS features, typeof(score) AS score');
  assert.deepEqual(described, { at: 'TIMESTAMP', features: 'STRUCT(x FLOAT, c VARCHAR)', score: 'FLOAT' }, 'the same column types as the files DuckDB wrote before');
});

function builderWith(seed: number, options: { entries?: number; maxEvents?: number; distinct?: number } = {}) {
  const next = random(seed);
  const builder = new LogBatchBuilder({ model: 'm', version: 1, hour: '2026-11-23T15', threshold: 0.5, featureNames: { numeric: ['x'], categorical: ['c'] } }, 0);
  const expected: { request_id: string; event_index: number; route: string; routing_key: string | null; score: number; x: number | null; c: string | null }[] = [];
  const entries = options.entries ?? 1;
  for (let e = 0; e < entries; e++) {
    const n = 1 + Math.floor(next() * (options.maxEvents ?? 1));
    const x = Float32Array.from({ length: n }, () => (next() < 0.1 ? NaN : Math.fround(next() * 1000)));
    const c = Array.from({ length: n }, () => (next() < 0.1 ? '' : `v${Math.floor(next() * (options.distinct ?? 10))}`));
    const scores = Float32Array.from({ length: n }, () => next());
    const entry: PredictionLogEntry = { requestId: `req-${seed}-${e}`, routingKey: next() < 0.5 ? undefined : `user-${Math.floor(next() * 50)}`, at: 1_700_000_000_000 + e, route: PREDICTION_ROUTES[e % 3] ?? 'primary', latencyMs: next() * 10, features: { rows: n, numeric: x, categorical: c }, scores };
    builder.add(entry);
    for (let i = 0; i < n; i++) {
      expected.push({ request_id: entry.requestId, event_index: i, route: entry.route, routing_key: entry.routingKey ?? null, score: scores[i] as number, x: Number.isNaN(x[i]) ? null : (x[i] as number), c: c[i] === '' ? null : (c[i] as string) });
    }
  }
  return Object.assign(builder, { expected });
}

test('generated batches read back exactly: one to thousands of rows, dictionaries whose indices need 1 to 17 bits', async () => {
  const cases = [
    { entries: 1, maxEvents: 1, distinct: 1 },
    { entries: 7, maxEvents: 1, distinct: 2 },
    { entries: 300, maxEvents: 1, distinct: 256 },
    { entries: 40, maxEvents: 100, distinct: 257 },
    { entries: 3000, maxEvents: 40, distinct: 70_000 },
  ];
  for (const [seed, options] of cases.entries()) {
    const builder = builderWith(seed + 10, options);
    const rows = await read(predictionLogFile(builder.seal()), 'request_id, event_index, route, routing_key, score, features.x AS x, features.c AS c');
    assert.equal(rows.length, builder.expected.length, `case ${seed}: row count`);
    assert.deepEqual(rows, builder.expected, `case ${seed}: ${JSON.stringify(options)}`);
  }
});

test('gzip and brotli pages (the API default is gzip-1) read back value for value, in a smaller file', async () => {
  const columns = 'request_id, event_index, route, routing_key, score, features.x AS x, features.c AS c';
  const builder = builderWith(99, { entries: 500, maxEvents: 20, distinct: 300 });
  const batch = builder.seal();
  const plainBytes = Buffer.concat(predictionLogFile(batch)).length;
  for (const codec of [{ codec: 'gzip', level: 1 }, { codec: 'brotli', level: 4 }] as const) {
    const parts = predictionLogFile(batch, codec);
    assert.deepEqual(await read(parts, columns), builder.expected, codec.codec);
    assert.deepEqual(await read(parts, 'DISTINCT compression', 'parquet_metadata'), [{ compression: codec.codec.toUpperCase() }]);
    assert.ok(Buffer.concat(parts).length < plainBytes * 0.8, `${codec.codec}: ${Buffer.concat(parts).length} bytes vs ${plainBytes} uncompressed`);
  }
  const failures = await read(failureLogFile({ model: 'm', version: 1, hour: '2026-11-23T15', since: 0, failures: [{ requestId: 'a', routingKey: undefined, at: 1, route: 'primary', events: 2, error: 'Internal', latencyMs: 3 }] }, { codec: 'gzip', level: 1 }), 'request_id, routing_key, events, error');
  assert.deepEqual(failures, [{ request_id: 'a', routing_key: null, events: 2, error: 'Internal' }]);
});

test('a failure log file reads back in arrival order', async () => {
  const rows = await read(
    failureLogFile({
      model: 'flights',
      version: 2,
      hour: '2026-11-23T15',
      since: 0,
      failures: [
        { requestId: 'late', routingKey: 'k', at: 2000, route: 'canary', events: 100, error: 'Internal', latencyMs: 3 },
        { requestId: 'early', routingKey: undefined, at: 1000, route: 'primary', events: 1, error: 'Timeout', latencyMs: 10_000 },
      ],
    }),
    'request_id, epoch_ms(failed_at) AS at, model, model_version, route, routing_key, events, error, latency_ms',
  );
  assert.deepEqual(rows, [
    { request_id: 'early', at: 1000n, model: 'flights', model_version: 2, route: 'primary', routing_key: null, events: 1, error: 'Timeout', latency_ms: 10_000 },
    { request_id: 'late', at: 2000n, model: 'flights', model_version: 2, route: 'canary', routing_key: 'k', events: 100, error: 'Internal', latency_ms: 3 },
  ]);
});

test('a regression file has the value beside the score; a multiclass file the class, its probability as score and every class probability', async () => {
  const featureNames = { numeric: ['distance'], categorical: ['origin'] };
  const entry = (scores: number[], rows: number) => ({
    requestId: 'r-1',
    routingKey: undefined,
    at: Date.UTC(2026, 10, 23, 15),
    route: 'primary' as const,
    latencyMs: 1,
    features: { rows, numeric: Float32Array.from({ length: rows }, (_, i) => 100 * (i + 1)), categorical: Array.from({ length: rows }, () => 'JFK') },
    scores: Float32Array.from(scores),
  });

  const regression = new LogBatchBuilder({ model: 'minutes', version: 2, hour: '2026-11-23T15', threshold: 0.5, task: { kind: 'regression', transform: { log1p: true } }, featureNames }, 0);
  regression.add(entry([12.5, -3, 99], 2));
  const minutes = await read(predictionLogFile(regression.seal()), '* EXCLUDE (predicted_at, latency_ms)');
  assert.deepEqual(minutes, [
    { request_id: 'r-1', event_index: 0, model: 'minutes', model_version: 2, route: 'primary', routing_key: null, score: 12.5, value: 12.5, features: { distance: 100, origin: 'JFK' } },
    { request_id: 'r-1', event_index: 1, model: 'minutes', model_version: 2, route: 'primary', routing_key: null, score: -3, value: -3, features: { distance: 200, origin: 'JFK' } },
  ]);

  const classes = ['early', 'on time', 'late-15-60'];
  const multiclass = new LogBatchBuilder({ model: 'classes', version: 1, hour: '2026-11-23T15', threshold: 0.5, task: { kind: 'multiclass', classes }, featureNames }, 0);
  // Row 0 is most likely late, row 1 ties between early and on time (the first wins); the last three values are beyond the rows.
  multiclass.add(entry([0.125, 0.25, 0.625, 0.375, 0.375, 0.25, 1, 1, 1], 2));
  const parts = predictionLogFile(multiclass.seal());
  const rows = await read(parts, 'event_index, score, class, probabilities');
  assert.deepEqual(rows, [
    { event_index: 0, score: 0.625, class: 'late-15-60', probabilities: { early: 0.125, 'on time': 0.25, 'late-15-60': 0.625 } },
    { event_index: 1, score: 0.375, class: 'early', probabilities: { early: 0.375, 'on time': 0.375, 'late-15-60': 0.25 } },
  ]);
  const [types] = await read(parts, 'typeof(class) AS class, typeof(probabilities) AS probabilities, typeof(score) AS score');
  assert.deepEqual(types, { class: 'VARCHAR', probabilities: 'STRUCT(early FLOAT, "on time" FLOAT, "late-15-60" FLOAT)', score: 'FLOAT' });

  // The hourly compaction merges one version's files with `SELECT *` over them: the struct survives it.
  const second = new LogBatchBuilder({ model: 'classes', version: 1, hour: '2026-11-23T15', threshold: 0.5, task: { kind: 'multiclass', classes }, featureNames }, 0);
  second.add(entry([0.5, 0.25, 0.25], 1));
  const paths = [parts, predictionLogFile(second.seal())].map((file) => {
    const path = join(dir, `f${files++}.parquet`);
    writeFileSync(path, Buffer.concat(file));
    return `'${path}'`;
  });
  const merged = (await db.runAndReadAll(`SELECT class, probabilities.early AS early FROM (SELECT * FROM read_parquet([${paths.join(', ')}], hive_partitioning = false)) ORDER BY early`)).getRowObjectsJS();
  assert.deepEqual(merged, [
    { class: 'late-15-60', early: 0.125 },
    { class: 'early', early: 0.375 },
    { class: 'early', early: 0.5 },
  ]);
});
