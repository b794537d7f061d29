import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../../../shared/config.ts';
import { type DatasetContractInput, validationReportSchema } from '../../../shared/data/dataset-contract.ts';
import { type IngestInput, datasetManifestSchema, ingestInputSchema } from '../../../shared/data/dataset.ts';
import type { FeatureSpecInput } from '../../../shared/data/feature-spec.ts';
import { featureTablesManifestSchema } from '../../../shared/data/feature-tables.ts';
import { ErrorType } from '../../../shared/errors.ts';
import { pipelineSpecSchema } from '../../../shared/pipeline.ts';
import { createFeatureActivities } from '../../../activities/features/feature-activities.ts';
import { createIngestActivities } from '../../../activities/ingest/ingest-activities.ts';
import { createValidationActivities } from '../../../activities/validation/validation-activities.ts';
import { fingerprintSource } from '../../../domain/datasets/dataset-fingerprint.ts';
import { listPartitions, openPartition, partitionedLocation, partitionedVersion } from '../../../domain/datasets/partitioned-source.ts';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { stackConfig } from '../../support/stack.ts';
import { FLIGHTS_PARQUET, type FixtureDir, expectFailure, fixtureDir, isolatedBuckets, runActivity, snapshotBuckets, sqlPath, truncate } from './fixtures.ts';

/**
 * Partitioned sources against a real MinIO: a folder of daily flight files (300 rows a day) ingested
 * from a local directory and from an s3:// prefix, grown by a day, and each bad partition refused.
 */
describe('partitioned sources', () => {
  const config = stackConfig();
  const store = MinioArtifactStore.fromConfig(config.minio);
  const flightsSpec = JSON.parse(readFileSync(join(import.meta.dirname, '../../../examples/flights/features.json'), 'utf8')) as FeatureSpecInput;
  let buckets: Config['buckets'];
  let fixtures: FixtureDir;
  let ingestActivities: ReturnType<typeof createIngestActivities>;
  const ingest = (input: Parameters<typeof ingestActivities.ingestDataset>[0]) => runActivity((i) => ingestActivities.ingestDataset(i), input);
  const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
  const partitionObjects = async () => (await store.list(buckets.datasets, 'partitions/')).length;
  const manifestOf = async (key: string) => datasetManifestSchema.parse(JSON.parse((await store.get(buckets.datasets, key)).toString()));

  /** `rows` flights (300) of one March day, as `<dir>/date=<day>/part-0.<format>`, with `select` over them. */
  const writeDay = async (dir: string, day: number, options: { format?: 'parquet' | 'csv'; select?: string; rows?: number } = {}) => {
    const format = options.format ?? 'parquet';
    const date = `2001-03-${String(day).padStart(2, '0')}`;
    const path = join(dir, `date=${date}`, `part-0.${format}`);
    mkdirSync(dirname(path), { recursive: true });
    const from = `TIMESTAMP '${date}'`;
    await fixtures.sql(
      `COPY (SELECT ${options.select ?? '*'} FROM read_parquet(${sqlPath(FLIGHTS_PARQUET)}) WHERE date >= ${from} AND date < ${from} + INTERVAL 1 DAY ORDER BY date, origin, destination LIMIT ${options.rows ?? 300}) TO ${sqlPath(path)} (FORMAT ${format}${format === 'csv' ? ', HEADER true' : ''})`,
    );
    return path;
  };
  const newFolder = (name: string) => {
    const dir = fixtures.path(name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  before(async () => {
    buckets = await isolatedBuckets(store, 'partitions');
    fixtures = fixtureDir();
    ingestActivities = createIngestActivities({ store, buckets, workDir: fixtures.path('work') });
    mkdirSync(fixtures.path('work'));
  });
  after(() => fixtures[Symbol.dispose]());

  test('a local folder grows: the version is the hash of the partitions, and a new day uploads and reads only that day', async () => {
    const dir = newFolder('grow');
    const days = [await writeDay(dir, 1), await writeDay(dir, 2), await writeDay(dir, 3)];
    const first = await ingest({ datasetName: 'flights-daily', source: dir, partitions: 'date=*/*.parquet' });
    assert.equal(first.datasetVersion, partitionedVersion(days.map(sha256)));
    assert.equal(first.rows, 900);
    assert.equal(first.sourceKey, null);
    assert.deepEqual(first.partitions, { total: 3, uploaded: 3, alreadyStored: 0, read: 3, duplicates: 0 });
    assert.equal(await partitionObjects(), 3);
    const manifest = await manifestOf(first.manifestKey);
    assert.deepEqual(
      manifest.partitions?.map((p) => [p.path, p.sha256, p.rowCount, p.sizeBytes]),
      days.map((d) => [relative(dir, d), sha256(d), 300, readFileSync(d).length]),
    );
    assert.equal(manifest.partitionGlob, 'date=*/*.parquet');

    const before = await snapshotBuckets(store, buckets);
    const again = await ingest({ datasetName: 'flights-daily', source: dir, partitions: 'date=*/*.parquet' });
    assert.equal(again.datasetVersion, first.datasetVersion, 'same files, same version');
    assert.equal(again.reused, true);
    assert.deepEqual(again.partitions, { total: 3, uploaded: 0, alreadyStored: 3, read: 0, duplicates: 0 }, 'nothing re-read: path, size and mtime unchanged');
    assert.deepEqual(await snapshotBuckets(store, buckets), before, 'no object was added or rewritten');

    const day4 = await writeDay(dir, 4);
    const expected = await fingerprintSource(dir, store, { partitions: 'date=*/*.parquet', datasetsBucket: buckets.datasets });
    const grown = await ingest({ datasetName: 'flights-daily', source: dir, partitions: 'date=*/*.parquet', expectedVersion: expected.sha256 });
    assert.equal(grown.datasetVersion, partitionedVersion([...days, day4].map(sha256)), 'what a pipeline start fingerprints is what the ingest stores');
    assert.notEqual(grown.datasetVersion, first.datasetVersion);
    assert.equal(grown.previousVersion, first.datasetVersion);
    assert.equal(grown.rows, 1200);
    assert.deepEqual(grown.partitions, { total: 4, uploaded: 1, alreadyStored: 3, read: 1, duplicates: 0 });
    assert.equal(await partitionObjects(), 4, 'one new object: the new day');
  });

  test('an s3:// prefix with the same files is the same version; a folder without a glob reads every Parquet/CSV file in it', async () => {
    const dir = newFolder('s3-source');
    const days = [await writeDay(dir, 1), await writeDay(dir, 2), await writeDay(dir, 3)];
    for (const day of days) await store.putFile(buckets.predictions, `raw/flights/${relative(dir, day)}`, day);
    await store.put(buckets.predictions, 'raw/flights/_SUCCESS', '');
    const objectsBefore = await partitionObjects();
    const fromS3 = await ingest({ datasetName: 'flights-s3', source: `s3://${buckets.predictions}/raw/flights/`, partitions: 'date=*/*.parquet' });
    assert.equal(fromS3.datasetVersion, partitionedVersion(days.map(sha256)));
    assert.equal(fromS3.rows, 900);
    assert.equal(fromS3.partitions?.uploaded, 0, 'these contents were stored by the local ingest already');
    assert.equal(await partitionObjects(), objectsBefore);

    const noGlob = await ingest({ datasetName: 'flights-s3', source: `s3://${buckets.predictions}/raw/flights/` });
    assert.equal(noGlob.datasetVersion, fromS3.datasetVersion, '_SUCCESS is not a partition');
    const local = await ingest({ datasetName: 'flights-dir', source: dir });
    assert.equal(local.datasetVersion, fromS3.datasetVersion);
  });

  test('CSV partitions are read with one dialect and one set of types', async () => {
    const dir = newFolder('csv');
    await writeDay(dir, 1, { format: 'csv' });
    await writeDay(dir, 2, { format: 'csv' });
    const result = await ingest({ datasetName: 'flights-csv-daily', source: dir, partitions: '**/*.csv' });
    assert.equal(result.format, 'csv');
    assert.equal(result.rows, 600);
    assert.deepEqual(result.schema.map((c) => c.type), ['TIMESTAMP', 'BIGINT', 'BIGINT', 'VARCHAR', 'VARCHAR']);
  });

  test('two partitions with the same content are stored and read once, the copy listed as a duplicate', async () => {
    const dir = newFolder('duplicates');
    const day1 = await writeDay(dir, 1);
    await writeDay(dir, 2);
    const single = await ingest({ datasetName: 'flights-dup', source: dir });
    mkdirSync(join(dir, 'date=2001-03-01-copy'));
    copyFileSync(day1, join(dir, 'date=2001-03-01-copy', 'part-0.parquet'));
    const withCopy = await ingest({ datasetName: 'flights-dup', source: dir });
    assert.equal(withCopy.datasetVersion, single.datasetVersion, 'a copy adds no content, so no new version');
    assert.equal(withCopy.rows, 600, 'its rows are counted once');
    assert.equal(withCopy.partitions?.duplicates, 1);
    const fresh = await ingest({ datasetName: 'flights-dup-fresh', source: dir, format: 'parquet', partitions: '**/*.parquet' });
    const manifest = await manifestOf(fresh.manifestKey);
    assert.equal(manifest.partitions?.length, 2);
  });

  describe('bad partitions are refused, named, and leave the previous version the newest good one', () => {
    let dir: string;
    let good: string;
    const source = () => ({ datasetName: 'flights-guarded', source: dir, partitions: 'date=*/*.parquet' });
    before(async () => {
      dir = newFolder('guarded');
      await writeDay(dir, 1);
      await writeDay(dir, 2);
      good = (await ingest(source())).datasetVersion;
    });
    /** Adds a bad partition, expects the failure, removes it, and checks that nothing changed. */
    const refused = async (make: () => Promise<string>, type: string, message: RegExp, input: Partial<IngestInput> = {}) => {
      const beforeObjects = await snapshotBuckets(store, buckets);
      const path = await make();
      try {
        const failure = await expectFailure(ingest({ ...source(), ...input }), type);
        assert.match(failure.message, message);
        assert.equal((failure.details?.[0] as { partition?: string }).partition, relative(dir, path));
        assert.deepEqual(await snapshotBuckets(store, buckets), beforeObjects, 'nothing was written');
      } finally {
        rmSync(dirname(path), { recursive: true, force: true });
      }
      assert.equal((await ingest({ ...source(), ...input })).datasetVersion, good, 'without it the source is its last good version again');
    };

    test('a half-uploaded (truncated) Parquet file', () =>
      refused(async () => truncate(await writeDay(newFolder('scratch'), 5), mkPartition(dir, 5)), ErrorType.CorruptFile, /partition date=2001-03-05\/part-0\.parquet: cannot be read as Parquet/));
    test('an empty file', () =>
      refused(async () => {
        const path = mkPartition(dir, 6);
        writeFileSync(path, '');
        return path;
      }, ErrorType.EmptyDataset, /partition date=2001-03-06\/part-0\.parquet: the file is empty/));
    test('a Parquet file with no rows', () =>
      refused(() => writeDay(dir, 7, { rows: 0 }), ErrorType.EmptyDataset, /date=2001-03-07\/part-0\.parquet: the Parquet file has no rows/));
    test('a partition whose schema changed', () =>
      refused(() => writeDay(dir, 8, { select: '*, 1 AS carrier' }), ErrorType.SchemaMismatch, /date=2001-03-08\/part-0\.parquet: schema differs.*column "carrier" is not in the dataset/));
    test('a partition that fails the contract on its own, though the whole set would pass', async () => {
      // 50 of the day's 300 delays out of range: 17 % of the partition, 6 % of the three days together.
      const contract: DatasetContractInput = { name: 'daily', checks: [{ check: 'range', column: 'delay', min: -120, max: 4000, maxViolationRate: 0.1 }, { check: 'min_rows', min: 100_000 }] };
      await refused(
        () => writeDay(dir, 10, { select: '* REPLACE (CASE WHEN row_number() OVER (ORDER BY date, origin, destination) <= 50 THEN 5000 ELSE delay END AS delay)' }),
        ErrorType.DatasetInvalid,
        /partition date=2001-03-10\/part-0\.parquet fails contract daily: range\(delay\): 50 value\(s\) outside \[-120, 4000\] \(16\.7%; allowed 10\.0%\)$/,
        { contract },
      );
    });
    test('a partition whose column changed type', () =>
      refused(() => writeDay(dir, 9, { select: '* REPLACE (CAST(delay AS VARCHAR) AS delay)' }), ErrorType.SchemaMismatch, /column "delay" is VARCHAR, the dataset has BIGINT/));
  });

  test('a glob that matches nothing, a missing folder, and a partition that disappears after listing', async () => {
    const dir = newFolder('sparse');
    const day = await writeDay(dir, 1);
    const before = await snapshotBuckets(store, buckets);
    const none = await expectFailure(ingest({ datasetName: 'flights-sparse', source: dir, partitions: 'day=*/*.parquet' }), ErrorType.SourceNotFound);
    assert.match(none.message, /no file matches the partition glob day=\*\/\*\.parquet/);
    await expectFailure(ingest({ datasetName: 'flights-sparse', source: `${dir}-missing`, partitions: '*.parquet' }), ErrorType.SourceNotFound);
    await expectFailure(ingest({ datasetName: 'flights-sparse', source: `s3://${buckets.predictions}/nothing-here/` }), ErrorType.SourceNotFound);
    assert.deepEqual(await snapshotBuckets(store, buckets), before);

    const location = await partitionedLocation(dir, undefined);
    assert.ok(location);
    const [listed] = await listPartitions(location, '**/*.parquet', store, dir);
    assert.equal(listed?.path, relative(dir, day));
    rmSync(day);
    const gone = await expectFailure(openPartition(location, listed.path, store, dir), ErrorType.SourceNotFound);
    assert.match(gone.message, /partition date=2001-03-01\/part-0\.parquet disappeared after the source was listed/);
  });

  test('specs say what is wrong with a partitioned source', () => {
    const problems = (input: unknown) => {
      const parsed = ingestInputSchema.safeParse(input);
      return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.match(problems({ datasetName: 'x', source: 'https://example.com/flights/', partitions: '*.parquet' }).join(), /partitions: a partitioned source must be a local directory or an s3:\/\/bucket\/prefix\//);
    assert.match(problems({ datasetName: 'x', source: 's3://raw/flights', partitions: '*.parquet' }).join(), /must end in \/ \(s3:\/\/raw\/flights\/\)/);
    assert.match(problems({ datasetName: 'x', source: '/data', partitions: '../*.parquet' }).join(), /relative to the source folder/);
    const spec = JSON.parse(readFileSync(join(import.meta.dirname, '../../../examples/flights/pipeline.json'), 'utf8')) as { dataset: object };
    const parsed = pipelineSpecSchema.safeParse({ ...spec, dataset: { name: 'flights', source: 's3://raw/flights', partitions: 'date=*/*.parquet' } });
    assert.equal(parsed.success, false);
  });

  test('validation and features read every partition; splits relative to the end pick the newest day, and move when a day is added', async () => {
    const dir = newFolder('relative');
    for (const day of [1, 2, 3]) await writeDay(dir, day);
    const validation = createValidationActivities({ store, buckets, workDir: fixtures.path('work') });
    const features = createFeatureActivities({ store, buckets, workDir: fixtures.path('work') });
    const contract: DatasetContractInput = {
      name: 'daily',
      columns: [{ name: 'date', type: 'timestamp' }],
      checks: [{ check: 'min_rows', min: 900 }, { check: 'row_count_change', maxRelativeChange: 0.2, severity: 'warning' }, { check: 'schema_change' }],
    };
    const spec: FeatureSpecInput = { ...flightsSpec, splits: [{ name: 'train' }, { name: 'validation', last: '1d' }, { name: 'test', last: '1d' }] };

    const v1 = await ingest({ datasetName: 'flights-relative', source: dir });
    const report1 = await runActivity((i) => validation.validateDataset(i), { datasetVersion: v1.datasetVersion, contract, now: '2026-01-01T00:00:00Z' });
    assert.equal(report1.verdict, 'pass');
    const tables1 = await runActivity((i) => features.buildFeatures(i), { datasetVersion: v1.datasetVersion, features: spec });
    const manifest1 = featureTablesManifestSchema.parse(JSON.parse((await store.get(buckets.features, tables1.manifestKey)).toString()));
    assert.equal(manifest1.events.total, 900, 'every partition was read');
    assert.match(manifest1.newestEventTime ?? '', /^2001-03-03T/);
    assert.match(manifest1.splits.test?.from ?? '', /^2001-03-02T/);
    assert.equal(manifest1.splits.test?.until, new Date(Date.parse(manifest1.newestEventTime ?? '') + 1).toISOString());
    assert.equal(manifest1.splits.train?.until, manifest1.splits.validation?.from);

    await writeDay(dir, 4);
    const v2 = await ingest({ datasetName: 'flights-relative', source: dir });
    const report2 = await runActivity((i) => validation.validateDataset(i), { datasetVersion: v2.datasetVersion, contract, now: '2026-01-01T00:00:00Z' });
    assert.equal(report2.verdict, 'warn', 'the whole set grew by a third: row_count_change warns');
    const stored = validationReportSchema.parse(JSON.parse((await store.get(buckets.reports, report2.reportKey)).toString()));
    assert.equal(stored.previousVersion, v1.datasetVersion);
    const tables2 = await runActivity((i) => features.buildFeatures(i), { datasetVersion: v2.datasetVersion, features: spec });
    const manifest2 = featureTablesManifestSchema.parse(JSON.parse((await store.get(buckets.features, tables2.manifestKey)).toString()));
    assert.equal(manifest2.events.total, 1200);
    assert.match(manifest2.newestEventTime ?? '', /^2001-03-04T/);
    assert.match(manifest2.splits.test?.from ?? '', /^2001-03-03T/, 'the test split moved to the newest day');
    assert.ok(tables2.splits.train && tables1.splits.train && tables2.splits.train.rows > tables1.splits.train.rows, 'train grew by the day before');
  });
});

/** The path of a new day's partition in `dir` (its folder created). */
function mkPartition(dir: string, day: number): string {
  const path = join(dir, `date=2001-03-${String(day).padStart(2, '0')}`, 'part-0.parquet');
  mkdirSync(dirname(path), { recursive: true });
  return path;
}
