import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../../../shared/config.ts';
import { type FeatureSpecInput, featureSpecSchema } from '../../../shared/data/feature-spec.ts';
import { splitKeys } from '../../../shared/data/feature-tables.ts';
import { type BuiltFeatureTables, createFeatureActivities } from '../../../activities/features/feature-activities.ts';
import { createIngestActivities } from '../../../activities/ingest/ingest-activities.ts';
import { openDuckDb } from '../../../domain/duckdb/duckdb-session.ts';
import { stageTables } from '../../../activities/pipeline/stage-tables.ts';
import { prepareAggregates } from '../../../domain/features/build-features.ts';
import { planFeatures } from '../../../domain/features/feature-sql.ts';
import { materializeSnapshotTables } from '../../../domain/features/materialize-snapshot.ts';
import { readSnapshot } from '../../../domain/features/online-snapshot-loader.ts';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { stackConfig } from '../../support/stack.ts';
import { type FixtureDir, fixtureDir, isolatedBuckets, runActivity, sqlPath } from './fixtures.ts';

/**
 * A grown partitioned dataset: the incremental build of the new version against a full build of the
 * same version, value by value, with windows (by event and by label time) across the old/new boundary.
 */
describe('incremental feature builds', () => {
  const config = stackConfig();
  const store = MinioArtifactStore.fromConfig(config.minio);
  const spec = (splits: FeatureSpecInput['splits']): FeatureSpecInput => ({
    name: 'synthetic-incremental',
    columns: { date: 'timestamp', delay: 'number', distance: 'number', origin: 'string', destination: 'string' },
    entityKeys: ['origin', 'destination'],
    eventTime: 'date',
    label: { name: 'delayed', expr: 'delay > 15', availableAt: 'add_minutes(date, delay)', outcomes: ['delay'] },
    features: [
      { name: 'hour_of_day', expr: 'hour(date)' },
      { name: 'distance_miles', expr: 'distance' },
      { name: 'origin_airport', expr: 'origin' },
    ],
    aggregates: [
      { name: 'origin_delay_rate_2d', groupBy: ['origin'], fn: 'mean', of: 'delayed', window: '2d' },
      { name: 'origin_departures_1d', groupBy: ['origin'], fn: 'count', window: '1d' },
      { name: 'route_distance_mean_1d', groupBy: ['origin', 'destination'], fn: 'mean', of: 'distance', window: '1d' },
      { name: 'origin_distance_sum_3d', groupBy: ['origin'], fn: 'sum', of: 'distance', window: '3d' },
    ],
    splits,
    reference: { split: 'train', bins: 5, topCategories: 5 },
  });
  const relative = spec([{ name: 'train' }, { name: 'validation', last: '1d' }, { name: 'test', last: '1d' }]);
  const absolute = spec([
    { name: 'train', until: '2001-03-04' },
    { name: 'test', from: '2001-03-04' },
  ]);
  let buckets: Config['buckets'];
  let fullBuckets: Config['buckets'];
  let fixtures: FixtureDir;
  let dir: string;

  /** 150 synthetic flights on March `day` at distinct minutes; delays up to 49 min, so some labels become known the next day. */
  const writeDay = async (day: number, path = `date=2001-03-${String(day).padStart(2, '0')}/part-0.parquet`, into = dir) => {
    const file = join(into, path);
    mkdirSync(dirname(file), { recursive: true });
    await fixtures.sql(
      `COPY (SELECT TIMESTAMP '2001-03-01' + INTERVAL (${day - 1}) DAY + INTERVAL ((i * 37) % 1440) MINUTE AS date,
         CAST(hash(i, ${day}) % 60 AS BIGINT) - 10 AS delay, (hash(i, ${day}, 'd') % 100000) / 7.0 AS distance,
         ['A', 'B', 'C'][1 + i % 3] AS origin, ['X', 'Y'][1 + (i // 3) % 2] AS destination
       FROM range(150) AS t(i)) TO ${sqlPath(file)} (FORMAT parquet)`,
    );
  };
  const ingest = (name: string, source = dir) =>
    runActivity((i) => createIngestActivities({ store, buckets, workDir: fixtures.dir }).ingestDataset(i), { datasetName: name, source, partitions: 'date=*/*.parquet' });
  const build = (into: Config['buckets'], datasetVersion: string, features: FeatureSpecInput) =>
    runActivity((i) => createFeatureActivities({ store, buckets: into, workDir: fixtures.dir }).buildFeatures(i), { datasetVersion, features });

  /** Every split's rows, in file order (its parts concatenated), as JSON-ready values. */
  const rowsOf = async (tables: BuiltFeatureTables, bucket: string) => {
    using duck = await openDuckDb({ tempDirectory: fixtures.dir });
    const out: Record<string, unknown[][]> = {};
    for (const [name, split] of Object.entries(tables.splits)) {
      const paths = [];
      for (const key of splitKeys(split)) {
        paths.push(fixtures.path(`read-${name}-${Math.random().toString(36).slice(2)}.parquet`));
        await store.getFile(bucket, key, paths.at(-1) as string);
      }
      out[name] = (await duck.db.runAndReadAll(`SELECT * FROM read_parquet([${paths.map(sqlPath).join(', ')}])`)).getRowsJson();
    }
    return out;
  };
  const assertSameRows = (actual: Record<string, unknown[][]>, expected: Record<string, unknown[][]>) => {
    assert.deepEqual(Object.keys(actual), Object.keys(expected));
    for (const [name, rows] of Object.entries(expected)) {
      assert.equal(actual[name]?.length, rows.length, `split ${name}: row count`);
      rows.forEach((row, r) =>
        row.forEach((value, c) => {
          const got = actual[name]?.[r]?.[c];
          if (typeof value === 'number' && typeof got === 'number') assert.ok(Math.abs(got - value) <= 1e-9 * Math.max(1, Math.abs(value)), `split ${name} row ${r} column ${c}: ${got} vs ${value}`);
          else assert.deepEqual(got, value, `split ${name} row ${r} column ${c}`);
        }),
      );
    }
  };

  before(async () => {
    buckets = await isolatedBuckets(store, 'incremental');
    fullBuckets = { ...buckets, features: (await isolatedBuckets(store, 'incremental-full')).features };
    fixtures = fixtureDir();
    dir = fixtures.path('source');
  });
  after(() => fixtures[Symbol.dispose]());

  test('one new day: only its events are computed, and every value equals a full build of the grown version', async () => {
    for (const day of [1, 2, 3, 4]) await writeDay(day);
    const v1 = (await ingest('synthetic')).datasetVersion;
    const firstRelative = await build(buckets, v1, relative);
    const firstAbsolute = await build(buckets, v1, absolute);
    assert.equal(firstRelative.build?.mode, 'full');

    await writeDay(5);
    const v2 = (await ingest('synthetic')).datasetVersion;
    for (const [features, first] of [[relative, firstRelative], [absolute, firstAbsolute]] as const) {
      const incremental = await build(buckets, v2, features);
      assert.deepEqual(incremental.build, { mode: 'incremental', previousVersion: v1, appendedEvents: 150 });
      const full = await build(fullBuckets, v2, features);
      assert.equal(full.build?.mode, 'full');
      assert.deepEqual(
        Object.fromEntries(Object.entries(incremental.splits).map(([n, s]) => [n, s.rows])),
        Object.fromEntries(Object.entries(full.splits).map(([n, s]) => [n, s.rows])),
      );
      const expected = await rowsOf(full, fullBuckets.features);
      assertSameRows(await rowsOf(incremental, buckets.features), expected);
      // Windows reach back over the boundary: the new day's first flight sees the previous day's departures.
      const columns = ['origin', 'destination', 'date', 'hour_of_day', 'distance_miles', 'origin_airport', 'origin_delay_rate_2d', 'origin_departures_1d'];
      const firstNew = expected.test?.find((row) => String(row[columns.indexOf('date')]).startsWith('2001-03-05 00:00'));
      assert.ok(firstNew, 'the new day has a flight at midnight');
      assert.ok(Number(firstNew[columns.indexOf('origin_departures_1d')]) > 0);
      if (features === absolute) {
        assert.equal(incremental.splits.train?.key, first.splits.train?.key, 'train ends before the new day: the previous file is kept');
        assert.deepEqual(incremental.splits.test?.earlier, [first.splits.test?.key], 'the open test split grows by a part holding only the new day');
        // Training and evaluation stage the parts and read them as one split, in order.
        await using staged = await stageTables(store, buckets.features, incremental, ['test']);
        assert.deepEqual((await staged.connection.runAndReadAll(`SELECT * FROM ${staged.relation('test')}`)).getRowsJson(), (await rowsOf(incremental, buckets.features)).test);
      } else {
        assert.notEqual(incremental.splits.train?.key, first.splits.train?.key, 'relative splits moved: train grew');
      }
    }
  });

  test('a new partition with events older than the previous newest falls back to a full build, saying why', async () => {
    await writeDay(0, 'date=2001-02-28/part-0.parquet');
    const v3 = (await ingest('synthetic')).datasetVersion;
    const built = await build(buckets, v3, relative);
    assert.equal(built.build?.mode, 'full');
    assert.match(built.build?.reason ?? '', /an added partition has an event at 2001-02-28T.*not after the newest event of dataset/);
    const full = await build(fullBuckets, v3, relative);
    assertSameRows(await rowsOf(built, buckets.features), await rowsOf(full, fullBuckets.features));
  });

  test('online snapshots read the last window only: an unchanged version reads no partition, a grown one only its new ones, with the values of a snapshot over all events', async () => {
    const source = fixtures.path('snapshot-source');
    for (const day of [1, 2, 3, 4]) await writeDay(day, undefined, source);
    // Origin Z flies only on 1 March: by the data's end it is outside every window.
    await fixtures.sql(
      `COPY (SELECT TIMESTAMP '2001-03-01 06:00' + INTERVAL (i) MINUTE AS date, CAST(20 AS BIGINT) AS delay, CAST(300 AS DOUBLE) AS distance, 'Z' AS origin, 'X' AS destination FROM range(5) AS t(i))
       TO ${sqlPath(join(source, 'date=2001-03-01/part-1.parquet'))} (FORMAT parquet)`,
    );
    const features = absolute;
    const materialize = (datasetVersion: string, asOf?: string) =>
      runActivity((i) => createFeatureActivities({ store, buckets, workDir: fixtures.dir }).materializeOnlineFeatures(i), { datasetVersion, features, ...(asOf ? { asOf } : {}) });

    /** The snapshot as it was computed before lookbacks: running totals over every event of the source. */
    const overAllEvents = async (asOf: number) => {
      using duck = await openDuckDb({ tempDirectory: fixtures.dir });
      // Not hive-partitioned: the directory's date=YYYY-MM-DD would replace the files' own timestamps.
      const relation = `read_parquet(${sqlPath(join(source, '*/*.parquet'))}, hive_partitioning = false)`;
      const types = Object.fromEntries((await duck.db.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`)).getRowsJson().map((r) => [r[0] as string, r[1] as string]));
      const plan = planFeatures(featureSpecSchema.parse(features), types);
      await prepareAggregates(duck.db, plan, relation);
      return (await materializeSnapshotTables(duck.db, plan, [asOf])).get(asOf) ?? [];
    };
    const assertServesTheSame = async (snapshotKey: string) => {
      const written = await readSnapshot(store, buckets.serving, snapshotKey);
      const expected = await overAllEvents(Date.parse(written.asOf));
      assert.deepEqual(written.tables.map((t) => t.groupBy), expected.map((t) => t.groupBy));
      for (const [i, table] of expected.entries()) {
        const actual = new Map((written.tables[i]?.entries ?? []).map(([key, values]) => [JSON.stringify(key), values]));
        let absent = 0;
        for (const [key, values] of table.entries) {
          const got = actual.get(JSON.stringify(key));
          if (!got) {
            // What the online path gives a group the store does not hold: count 0, sum 0, mean NULL.
            assert.ok(values.every((v) => v === 0 || v === null), `${JSON.stringify(key)} is left out but has ${JSON.stringify(values)}`);
            absent++;
            continue;
          }
          values.forEach((v, j) => (v === null ? assert.equal(got[j], null) : assert.ok(Math.abs((got[j] as number) - v) <= 1e-9 * Math.max(1, Math.abs(v)), `as of ${written.asOf}, ${table.features[j]} of ${JSON.stringify(key)}: ${got[j]} vs ${v}`)));
        }
        assert.equal(actual.size, table.entries.length - absent, 'no group beyond those of the full computation');
      }
      return written;
    };

    const v1 = (await ingest('snapshots', source)).datasetVersion;
    const first = await materialize(v1);
    assert.equal(first.events.source, 'full');
    const written = await assertServesTheSame(first.snapshotKey);
    assert.ok(!written.tables.some((t) => t.entries.some(([key]) => key[0] === 'Z')), 'origin Z, idle for days, is left out');

    assert.equal((await materialize(v1)).events.source, 'own-lookback', 'the same version again reads no partition');

    await writeDay(5, undefined, source);
    const v2 = (await ingest('snapshots', source)).datasetVersion;
    const grown = await materialize(v2);
    assert.equal(grown.events.source, 'appended');
    assert.ok(grown.asOf > '2001-03-05T00:00:00.000Z', grown.asOf);
    await assertServesTheSame(grown.snapshotKey);

    // Before the newest event a window can reach past the lookback: every event is read.
    const earlier = await materialize(v2, '2001-03-02T12:00:00.000Z');
    assert.equal(earlier.events.source, 'full');
    const past = await assertServesTheSame(earlier.snapshotKey);
    assert.ok(past.tables.some((t) => t.entries.some(([key]) => key[0] === 'Z')), 'on 2 March, origin Z is within its windows');
  });
});
