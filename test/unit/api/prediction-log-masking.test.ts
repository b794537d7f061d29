import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { LogBatchBuilder, logMasking } from '../../../api/prediction-log/log-batch.ts';
import { predictionLogFile } from '../../../api/prediction-log/log-file.ts';
import { hashLogValue } from '../../../domain/prediction-log/log-hash.ts';
import { featureSpecSchema, logMasksOf } from '../../../shared/data/feature-spec.ts';
import { FLIGHTS_SPEC } from './support/flights-model.ts';

// Masked files are read back with DuckDB, as the drift monitor reads them.

const dir = mkdtempSync(join(tmpdir(), 'sluice-log-masking-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = await (await DuckDBInstance.create(':memory:')).connect();
const KEY = 'test-hash-key-0123456789';
const FEATURES = { numeric: ['distance', 'hour'], categorical: ['origin', 'dest', 'tail'] };

async function logged(masks: Map<string, 'hash' | 'drop'>, hashKey: string | undefined, file: string) {
  const builder = new LogBatchBuilder({ model: 'flights', version: 1, hour: '2026-11-23T15', threshold: 0.5, featureNames: FEATURES, masking: logMasking(FEATURES, masks, hashKey) }, 0);
  builder.add({ requestId: 'r-1', routingKey: undefined, at: 1, route: 'primary', latencyMs: 1, features: { rows: 2, numeric: Float32Array.from([733, 10, 2500, NaN]), categorical: ['ORD', 'LGA', 'N123', '', 'ORD', 'N9'] }, scores: Float32Array.from([0.1, 0.9]) });
  const path = join(dir, file);
  writeFileSync(path, Buffer.concat(predictionLogFile(builder.seal())));
  return (await db.runAndReadAll(`SELECT features FROM read_parquet('${path}') ORDER BY event_index`)).getRowObjectsJS().map((r) => r.features);
}

test('hash writes the keyed hash of each value (missing stays NULL), drop writes NULL, the rest as served', async () => {
  const rows = await logged(new Map([['origin', 'hash'], ['tail', 'drop'], ['hour', 'drop']]), KEY, 'masked.parquet');
  assert.deepEqual(rows, [
    { distance: 733, hour: null, origin: hashLogValue(KEY, 'ORD'), dest: 'LGA', tail: null },
    { distance: 2500, hour: null, origin: null, dest: 'ORD', tail: null },
  ]);
  assert.match(hashLogValue(KEY, 'ORD'), /^[A-Za-z0-9_-]{16}$/);
  assert.notEqual(hashLogValue(KEY, 'ORD'), hashLogValue('another-key-0123456789', 'ORD'), 'keyed: another key, another hash');
  const [schema] = (await db.runAndReadAll(`SELECT typeof(features) AS t FROM read_parquet('${join(dir, 'masked.parquet')}') LIMIT 1`)).getRowObjectsJS();
  assert.equal(schema?.t, 'STRUCT(distance FLOAT, "hour" FLOAT, origin VARCHAR, dest VARCHAR, tail VARCHAR)', 'the same schema as an unmasked file');
});

test('without a key a feature marked hash is written as NULL, never in the clear', async () => {
  const rows = await logged(new Map([['origin', 'hash']]), undefined, 'no-key.parquet');
  assert.deepEqual(rows.map((r) => (r as { origin: unknown }).origin), [null, null]);
});

test('the spec declares masks per feature; hashing a numeric feature is refused', () => {
  const spec = { ...FLIGHTS_SPEC, features: FLIGHTS_SPEC.features.map((f) => (f.name === 'origin_airport' ? { ...f, log: 'hash' as const } : f)) };
  assert.deepEqual([...logMasksOf(featureSpecSchema.parse(spec))], [['origin_airport', 'hash']]);
  const bad = featureSpecSchema.safeParse({ ...FLIGHTS_SPEC, features: FLIGHTS_SPEC.features.map((f) => (f.name === 'distance_miles' ? { ...f, log: 'hash' } : f)) });
  assert.equal(bad.success, false);
  assert.match(bad.error?.issues[0]?.message ?? '', /only categorical \(string\) features can be hashed/);
});
