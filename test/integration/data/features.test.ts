import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../../../shared/config.ts';
import { type FeatureSpecInput, featureSpecSchema } from '../../../shared/data/feature-spec.ts';
import { featureTablesManifestSchema, referenceStatsSchema } from '../../../shared/data/feature-tables.ts';
import { onlineSnapshotSchema } from '../../../shared/data/online-snapshot.ts';
import { ErrorType } from '../../../shared/errors.ts';
import { prepareAggregates } from '../../../domain/features/build-features.ts';
import { createFeatureActivities } from '../../../activities/features/feature-activities.ts';
import { planFeatures } from '../../../domain/features/feature-sql.ts';
import { materializeSnapshotTables } from '../../../domain/features/materialize-snapshot.ts';
import { compileOnlineFeatures } from '../../../domain/features/online-features.ts';
import { loadSnapshotStore } from '../../../domain/features/online-snapshot-loader.ts';
import { SnapshotOnlineStore } from '../../../domain/features/online-store.ts';
import { openDuckDb } from '../../../domain/duckdb/duckdb-session.ts';
import { createIngestActivities } from '../../../activities/ingest/ingest-activities.ts';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { stackConfig } from '../../support/stack.ts';
import { FLIGHTS_PARQUET, type FixtureDir, expectFailure, fixtureDir, isolatedBuckets, runActivity, snapshotBuckets, sqlPath } from './fixtures.ts';

/** Feature builds and online snapshots through the activities, against a real MinIO, on real flights. */
describe('buildFeatures and materializeOnlineFeatures', () => {
  const config = stackConfig();
  const store = MinioArtifactStore.fromConfig(config.minio);
  const flightsSpec = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../examples/flights/features.json'), 'utf8')) as FeatureSpecInput;
  /** The flights spec over three weeks of January: a week each for train, validation and test. */
  const spec: FeatureSpecInput = {
    ...flightsSpec,
    splits: [
      { name: 'train', from: '2001-01-01', until: '2001-01-08' },
      { name: 'validation', from: '2001-01-08', until: '2001-01-15' },
      { name: 'test', from: '2001-01-15' },
    ],
  };
  let buckets: Config['buckets'];
  let fixtures: FixtureDir;
  let features: ReturnType<typeof createFeatureActivities>;
  let datasetVersion: string;
  let rawPath: string;
  const build = (input: Parameters<typeof features.buildFeatures>[0]) => runActivity((i) => features.buildFeatures(i), input);
  const materialize = (input: Parameters<typeof features.materializeOnlineFeatures>[0]) => runActivity((i) => features.materializeOnlineFeatures(i), input);

  before(async () => {
    buckets = await isolatedBuckets(store, 'features');
    fixtures = fixtureDir();
    features = createFeatureActivities({ store, buckets, workDir: fixtures.dir });
    const ingest = createIngestActivities({ store, buckets, workDir: fixtures.dir });
    rawPath = fixtures.path('january.parquet');
    await fixtures.sql(`COPY (SELECT * FROM read_parquet(${sqlPath(FLIGHTS_PARQUET)}) WHERE date < TIMESTAMP '2001-01-22') TO ${sqlPath(rawPath)} (FORMAT parquet)`);
    ({ datasetVersion } = await runActivity((i) => ingest.ingestDataset(i), { datasetName: 'flights-january', source: rawPath }));
  });
  after(() => fixtures[Symbol.dispose]());

  test('writes one Parquet table per split, reference statistics and a manifest, keyed by (spec hash, dataset version)', async () => {
    const heartbeats: unknown[] = [];
    const tables = await runActivity((i) => features.buildFeatures(i), { datasetVersion, features: spec }, heartbeats);
    assert.equal(tables.reused, false);
    assert.match(tables.featureDefinitionHash, /^[0-9a-f]{64}$/);
    assert.deepEqual(Object.keys(tables.splits), ['train', 'validation', 'test']);
    assert.deepEqual(tables.featureNames, {
      numeric: ['hour_of_day', 'day_of_week', 'distance_miles', 'origin_delay_rate_7d', 'origin_known_flights_7d', 'origin_departures_7d', 'route_delay_rate_7d', 'route_known_flights_7d'],
      categorical: ['origin_airport', 'destination_airport'],
    });
    assert.equal(tables.labelColumn, 'delayed');
    for (const [name, split] of Object.entries(tables.splits)) {
      assert.equal(split.key, `spec=${tables.featureDefinitionHash}/dataset=${datasetVersion}/${name}.parquet`);
      assert.ok(split.rows > 50_000, `${name} has ${split.rows} rows`);
    }
    assert.ok(heartbeats.some((h) => (h as { stage?: string }).stage === 'aggregates'), 'heartbeats report the stage');

    const manifest = featureTablesManifestSchema.parse(JSON.parse((await store.get(buckets.features, tables.manifestKey)).toString()));
    const { events } = manifest;
    assert.equal(events.total, events.withoutLabel + events.outsideSplits + Object.values(tables.splits).reduce((s, x) => s + x.rows, 0));
    assert.equal(manifest.splits.train?.until, '2001-01-08T00:00:00.000Z');

    const stats = referenceStatsSchema.parse(JSON.parse((await store.get(buckets.features, tables.referenceStatsKey)).toString()));
    assert.equal(stats.split, 'train');
    assert.equal(stats.rows, tables.splits.train?.rows);
    assert.ok(stats.label.positiveRate !== null && stats.label.positiveRate > 0.1 && stats.label.positiveRate < 0.4);
    const hour = stats.features.find((f) => f.name === 'hour_of_day');
    assert.ok(hour?.kind === 'numeric');
    assert.equal(hour.binCounts.length, hour.binEdges.length + 1);
    assert.equal(hour.binCounts.reduce((a, b) => a + b, 0), stats.rows - hour.nullCount);
    const origin = stats.features.find((f) => f.name === 'origin_airport');
    assert.ok(origin?.kind === 'categorical');
    assert.equal(origin.top.length, 20);
    assert.equal(origin.top.reduce((a, t) => a + t.count, 0) + origin.otherCount + origin.nullCount, stats.rows);

    // The tables themselves: columns in order, label 0/1, train strictly before validation.
    using duck = await openDuckDb({ tempDirectory: fixtures.dir });
    const local = fixtures.path('train-downloaded.parquet');
    await store.getFile(buckets.features, tables.splits.train?.key ?? '', local);
    const described = (await duck.db.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlPath(local)})`)).getRowObjectsJS().map((r) => `${r.column_name as string}:${r.column_type as string}`);
    assert.deepEqual(described, [
      'origin:VARCHAR', 'destination:VARCHAR', 'date:TIMESTAMP', 'hour_of_day:DOUBLE', 'day_of_week:DOUBLE', 'distance_miles:DOUBLE', 'origin_airport:VARCHAR', 'destination_airport:VARCHAR',
      'origin_delay_rate_7d:DOUBLE', 'origin_known_flights_7d:DOUBLE', 'origin_departures_7d:DOUBLE', 'route_delay_rate_7d:DOUBLE', 'route_known_flights_7d:DOUBLE', 'delayed:BOOLEAN',
    ]);
    const range = (await duck.db.runAndReadAll(`SELECT min(date)::VARCHAR, max(date)::VARCHAR, count(*) FILTER (WHERE delayed IS NULL) FROM read_parquet(${sqlPath(local)})`)).getRowsJS()[0];
    assert.deepEqual(range, ['2001-01-01 00:01:00', '2001-01-07 23:59:00', 0n]);
  });

  test('a second build of the same (spec, dataset) finds the manifest and writes nothing', async () => {
    const first = await build({ datasetVersion, features: spec });
    const before = await snapshotBuckets(store, buckets);
    // Key order and defaults do not change the definition hash.
    const reordered = Object.fromEntries(Object.entries(spec).reverse()) as FeatureSpecInput;
    const second = await build({ datasetVersion, features: reordered });
    assert.equal(second.reused, true);
    assert.equal(second.featureDefinitionHash, first.featureDefinitionHash);
    assert.deepEqual(await snapshotBuckets(store, buckets), before);
  });

  test('a dataset without a declared column is SchemaMismatch; a spec that does not parse is InvalidInput', async () => {
    const before = await snapshotBuckets(store, buckets);
    const mismatch = await expectFailure(build({ datasetVersion, features: { ...spec, columns: { ...spec.columns, carrier: 'string' } } }), ErrorType.SchemaMismatch);
    assert.match(mismatch.message, /column "carrier" is missing/);
    const retyped = await expectFailure(build({ datasetVersion, features: { ...spec, columns: { ...spec.columns, origin: 'number' } } }), ErrorType.SchemaMismatch);
    assert.match(retyped.message, /column "origin" is VARCHAR, the spec declares number/);
    const badTime = await expectFailure(build({ datasetVersion, features: { ...spec, eventTime: 'origin' } }), ErrorType.InvalidInput);
    assert.match(badTime.message, /event time "origin" must be a timestamp column/);
    const leaky = await expectFailure(build({ datasetVersion, features: { ...spec, features: [{ name: 'late', expr: 'delay > 0' }] } }), ErrorType.InvalidInput);
    assert.match(leaky.message, /features\.0\.expr: reads outcome column\(s\) delay/);
    await expectFailure(build({ datasetVersion: '0'.repeat(64), features: spec }), ErrorType.DatasetNotFound);
    assert.deepEqual(await snapshotBuckets(store, buckets), before);
  });

  test('parity: for 1 000+ real flights, the online path (store as of the event) gives the offline features', async () => {
    const tables = await build({ datasetVersion, features: spec });
    const parsed = featureSpecSchema.parse(spec);
    const online = compileOnlineFeatures(parsed);
    using duck = await openDuckDb({ tempDirectory: fixtures.dir });
    const { db } = duck;
    for (const [name, split] of Object.entries(tables.splits)) {
      const local = fixtures.path(`parity-${name}.parquet`);
      await store.getFile(buckets.features, split.key, local);
      await db.run(`${name === 'train' ? 'CREATE TABLE offline AS' : 'INSERT INTO offline'} SELECT * FROM read_parquet(${sqlPath(local)})`);
    }
    // Raw events at 150 random instants after the first week (so windows hold data), joined to their
    // offline rows on the raw columns: flights equal in those columns have equal features.
    const sample = (
      await db.runAndReadAll(`
        WITH instants AS (SELECT DISTINCT date FROM read_parquet(${sqlPath(rawPath)}) WHERE date >= TIMESTAMP '2001-01-08' USING SAMPLE 150 ROWS (reservoir, 42))
        SELECT DISTINCT r.date, r.distance, r.origin, r.destination, o.* EXCLUDE (date, origin, destination, delayed)
        FROM read_parquet(${sqlPath(rawPath)}) r JOIN instants USING (date)
        JOIN offline o ON o.date = r.date AND o.origin = r.origin AND o.destination = r.destination AND o.distance_miles = r.distance
        ORDER BY ALL`)
    ).getRowObjectsJS();
    assert.ok(sample.length >= 1000, `only ${sample.length} sampled events`);

    // One materialization per instant, by the function the activity uses, in one session for speed...
    const plan = planFeatures(parsed, { date: 'TIMESTAMP', delay: 'BIGINT', distance: 'BIGINT', origin: 'VARCHAR', destination: 'VARCHAR' });
    await prepareAggregates(db, plan, `read_parquet(${sqlPath(rawPath)})`);
    const instants = [...new Set(sample.map((r) => (r.date as Date).getTime()))];
    const snapshots = await materializeSnapshotTables(db, plan, instants);
    const stores = new Map(instants.map((t) => [t, new SnapshotOnlineStore(onlineSnapshotSchema.parse({ kind: 'sluice.online-feature-snapshot', featureSpecHash: tables.featureDefinitionHash, datasetVersion, asOf: new Date(t).toISOString(), tables: snapshots.get(t) }))]));

    let maxDiff = 0;
    let compared = 0;
    for (const row of sample) {
      const date = row.date as Date;
      // As the API receives it: JSON, a naive ISO timestamp, no outcome columns.
      const event = { date: date.toISOString().slice(0, 19), distance: Number(row.distance), origin: row.origin, destination: row.destination };
      const vector = await online.vector(event, stores.get(date.getTime()) as SnapshotOnlineStore);
      for (const name of online.featureNames) {
        const offline = row[name] as number | string | null;
        const got = vector[name];
        if (typeof offline === 'number' && typeof got === 'number') maxDiff = Math.max(maxDiff, Math.abs(offline - got));
        else assert.equal(got, offline, `${name} for ${JSON.stringify(event)}`);
        compared++;
      }
    }
    assert.ok(maxDiff <= 1e-6, `max |online - offline| = ${maxDiff}`);
    console.log(`parity: ${sample.length} events at ${instants.length} instants, ${compared} values, max |online - offline| = ${maxDiff}`);

    // ...and the activity's own snapshot in MinIO, loaded as the API loads it, agrees for one instant.
    const asOf = instants[0] as number;
    const materialized = await materialize({ datasetVersion, features: spec, asOf: new Date(asOf).toISOString() });
    assert.equal(materialized.snapshotKey, `online-features/spec=${tables.featureDefinitionHash}/dataset=${datasetVersion}/as-of=${new Date(asOf).toISOString()}.snap`);
    const fromMinio = await loadSnapshotStore(store, buckets.serving, materialized.snapshotKey);
    for (const row of sample.filter((r) => (r.date as Date).getTime() === asOf)) {
      const event = { date: (row.date as Date).toISOString(), distance: Number(row.distance), origin: row.origin, destination: row.destination };
      assert.deepEqual(await online.vector(event, fromMinio), await online.vector(event, stores.get(asOf) as SnapshotOnlineStore));
    }
  });

  test('materializing without an instant covers everything up to the latest event', async () => {
    const materialized = await materialize({ datasetVersion, features: spec });
    assert.equal(materialized.asOf, '2001-01-21T23:58:00.001Z', 'the last flight before 2001-01-22 is at 23:58');
    assert.ok((materialized.entries.origin ?? 0) > 100);
    assert.ok((materialized.entries['origin+destination'] ?? 0) > 1000);
  });
});
