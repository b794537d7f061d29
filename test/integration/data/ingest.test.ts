import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../../../shared/config.ts';
import { datasetHistorySchema, datasetManifestSchema } from '../../../shared/data/dataset.ts';
import { ErrorType } from '../../../shared/errors.ts';
import { datasetKeys } from '../../../shared/storage-keys.ts';
import { createIngestActivities } from '../../../activities/ingest/ingest-activities.ts';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { stackConfig } from '../../support/stack.ts';
import { type FixtureDir, closedPort, damage, expectFailure, fixtureDir, isolatedBuckets, runActivity, serveDirectory, snapshotBuckets, truncate, writeFlights } from './fixtures.ts';

/** Ingestion against a real MinIO: every source kind, idempotence, and every failure writing nothing. */
describe('ingestDataset', () => {
  const config = stackConfig();
  const store = MinioArtifactStore.fromConfig(config.minio);
  let buckets: Config['buckets'];
  let fixtures: FixtureDir;
  let activities: ReturnType<typeof createIngestActivities>;
  let parquet: string;
  let csv: string;
  const ingest = (input: Parameters<typeof activities.ingestDataset>[0]) => runActivity((i) => activities.ingestDataset(i), input);
  const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

  before(async () => {
    buckets = await isolatedBuckets(store, 'ingest');
    fixtures = fixtureDir();
    activities = createIngestActivities({ store, buckets, workDir: fixtures.dir });
    parquet = await writeFlights(fixtures, 'flights.parquet', { rows: 20_000, format: 'parquet' });
    csv = await writeFlights(fixtures, 'flights.csv', { rows: 5_000, format: 'csv' });
  });
  after(() => fixtures[Symbol.dispose]());

  test('a local Parquet file becomes a version named by its SHA-256, with bytes, manifest and history', async () => {
    const result = await ingest({ datasetName: 'flights-local', source: parquet });
    assert.equal(result.datasetVersion, sha256(parquet));
    assert.equal(result.rows, 20_000);
    assert.equal(result.format, 'parquet');
    assert.equal(result.reused, false);
    assert.equal(result.previousVersion, null);
    assert.deepEqual(
      result.schema.map((c) => `${c.name}:${c.type}`),
      ['date:TIMESTAMP', 'delay:BIGINT', 'distance:BIGINT', 'origin:VARCHAR', 'destination:VARCHAR'],
    );

    const stored = await store.get(buckets.datasets, datasetKeys.source(result.datasetVersion, 'parquet'));
    assert.ok(stored.equals(readFileSync(parquet)), 'the raw bytes are stored unchanged');
    const manifest = datasetManifestSchema.parse(JSON.parse((await store.get(buckets.datasets, result.manifestKey)).toString()));
    assert.equal(manifest.version, result.datasetVersion);
    assert.equal(manifest.name, 'flights-local');
    assert.equal(manifest.source, parquet);
    assert.equal(manifest.sizeBytes, readFileSync(parquet).length);
    assert.equal(manifest.rowCount, 20_000);
    const history = datasetHistorySchema.parse(JSON.parse((await store.get(buckets.datasets, datasetKeys.history('flights-local'))).toString()));
    assert.deepEqual(history.versions.map((v) => v.version), [result.datasetVersion]);
  });

  test('ingesting the same content again stores nothing new and returns the same version', async () => {
    const first = await ingest({ datasetName: 'flights-again', source: parquet });
    const before = await snapshotBuckets(store, buckets);
    const second = await ingest({ datasetName: 'flights-again', source: parquet });
    assert.equal(second.datasetVersion, first.datasetVersion);
    assert.equal(second.reused, true);
    assert.deepEqual(await snapshotBuckets(store, buckets), before, 'no object was added or rewritten');
  });

  test('a second version of a name points back at the first', async () => {
    const older = await writeFlights(fixtures, 'older.parquet', { rows: 1_000, format: 'parquet' });
    const newer = await writeFlights(fixtures, 'newer.parquet', { rows: 1_500, format: 'parquet' });
    const v1 = await ingest({ datasetName: 'flights-history', source: older });
    const v2 = await ingest({ datasetName: 'flights-history', source: newer });
    assert.equal(v2.previousVersion, v1.datasetVersion);
    assert.equal((await ingest({ datasetName: 'flights-history', source: newer })).previousVersion, v1.datasetVersion);
  });

  test('CSV is read with types detected over the whole file and the dialect recorded', async () => {
    const result = await ingest({ datasetName: 'flights-csv', source: csv });
    assert.equal(result.format, 'csv');
    assert.equal(result.rows, 5_000);
    assert.deepEqual(result.schema.map((c) => c.type), ['TIMESTAMP', 'BIGINT', 'BIGINT', 'VARCHAR', 'VARCHAR']);
    const manifest = datasetManifestSchema.parse(JSON.parse((await store.get(buckets.datasets, result.manifestKey)).toString()));
    assert.equal(manifest.csv?.delimiter, ',');
    assert.equal(manifest.csv?.header, true);
  });

  test('http(s) URLs and s3:// objects are ingested by streaming', async () => {
    await using server = await serveDirectory(fixtures.dir);
    const fromHttp = await ingest({ datasetName: 'flights-http', source: server.url('flights.csv') });
    assert.equal(fromHttp.datasetVersion, sha256(csv));

    await store.putFile(buckets.predictions, 'exports/flights.parquet', parquet);
    const fromS3 = await ingest({ datasetName: 'flights-s3', source: `s3://${buckets.predictions}/exports/flights.parquet` });
    assert.equal(fromS3.datasetVersion, sha256(parquet));
    assert.equal(fromS3.reused, true, 'same bytes as the local file ingested earlier');
  });

  test('the expected version guards against a source that changed', async () => {
    const before = await snapshotBuckets(store, buckets);
    const failure = await expectFailure(ingest({ datasetName: 'flights-local', source: csv, expectedVersion: 'a'.repeat(64) }), ErrorType.DatasetChanged);
    assert.match(failure.message, /not the expected a{64}/);
    assert.deepEqual(await snapshotBuckets(store, buckets), before);
  });

  describe('failures are typed, name the source and what is wrong, and write nothing', () => {
    const cases: { name: string; make: () => Promise<{ source: string; format?: 'csv' | 'parquet' }>; type: string; message: RegExp }[] = [
      {
        name: 'missing file',
        make: async () => ({ source: fixtures.path('no-such-file.parquet') }),
        type: ErrorType.SourceNotFound,
        message: /no-such-file\.parquet: no such file/,
      },
      {
        name: 'unreachable URL (closed local port)',
        make: async () => ({ source: `http://127.0.0.1:${await closedPort()}/flights.parquet` }),
        type: ErrorType.SourceUnreachable,
        message: /unreachable \(ECONNREFUSED\)/,
      },
      {
        name: 'truncated Parquet',
        make: async () => ({ source: truncate(parquet, fixtures.path('truncated.parquet')) }),
        type: ErrorType.CorruptFile,
        message: /truncated\.parquet: cannot be read as Parquet/,
      },
      {
        name: 'Parquet with a damaged data page (footer intact)',
        make: async () => ({ source: damage(parquet, fixtures.path('damaged.parquet')) }),
        type: ErrorType.CorruptFile,
        message: /damaged\.parquet: cannot be read as Parquet/,
      },
      {
        name: 'a .parquet file that is not Parquet',
        make: async () => {
          writeFileSync(fixtures.path('fake.parquet'), 'date,delay\n2001-01-01 00:00:00,5\n');
          return { source: fixtures.path('fake.parquet') };
        },
        type: ErrorType.CorruptFile,
        message: /fake\.parquet: not a Parquet file \(no PAR1 magic/,
      },
      {
        name: 'unsupported format',
        make: async () => {
          writeFileSync(fixtures.path('flights.json'), JSON.stringify([{ delay: 1 }]));
          return { source: fixtures.path('flights.json') };
        },
        type: ErrorType.UnsupportedFormat,
        message: /flights\.json: unsupported format \(extension \.json, JSON\)/,
      },
      {
        name: 'empty file',
        make: async () => {
          writeFileSync(fixtures.path('empty.csv'), '');
          return { source: fixtures.path('empty.csv') };
        },
        type: ErrorType.EmptyDataset,
        message: /empty\.csv: the file is empty \(0 bytes\)/,
      },
      {
        name: 'CSV with a header and no rows',
        make: async () => {
          writeFileSync(fixtures.path('header-only.csv'), 'date,delay,distance,origin,destination\n');
          return { source: fixtures.path('header-only.csv') };
        },
        type: ErrorType.EmptyDataset,
        message: /header-only\.csv: the CSV file has no rows/,
      },
      {
        name: 'Parquet with zero rows',
        make: async () => ({ source: await writeFlights(fixtures, 'zero.parquet', { rows: 0, format: 'parquet' }) }),
        type: ErrorType.EmptyDataset,
        message: /zero\.parquet: the Parquet file has no rows/,
      },
    ];
    for (const c of cases) {
      test(c.name, async () => {
        const input = await c.make();
        const before = await snapshotBuckets(store, buckets);
        const failure = await expectFailure(ingest({ datasetName: 'flights-bad', ...input }), c.type);
        assert.match(failure.message, c.message);
        assert.deepEqual(await snapshotBuckets(store, buckets), before, 'nothing was written');
      });
    }

    test('HTTP 404 and 500 answers', async () => {
      await using server = await serveDirectory(fixtures.dir);
      const before = await snapshotBuckets(store, buckets);
      const missing = await expectFailure(ingest({ datasetName: 'flights-bad', source: server.url('nope.parquet') }), ErrorType.SourceNotFound);
      assert.match(missing.message, /nope\.parquet: HTTP 404/);
      const broken = await expectFailure(ingest({ datasetName: 'flights-bad', source: server.url('fail/x.parquet') }), ErrorType.SourceUnreachable);
      assert.match(broken.message, /HTTP 500/);
      assert.deepEqual(await snapshotBuckets(store, buckets), before);
    });

    test('a missing s3:// object', async () => {
      const before = await snapshotBuckets(store, buckets);
      await expectFailure(ingest({ datasetName: 'flights-bad', source: `s3://${buckets.predictions}/none.parquet` }), ErrorType.SourceNotFound);
      assert.deepEqual(await snapshotBuckets(store, buckets), before);
    });

    test('an input that does not match the schema', async () => {
      const failure = await expectFailure(ingest({ datasetName: 'Not A Name', source: parquet }), ErrorType.InvalidInput);
      assert.match(failure.message, /datasetName/);
    });
  });
});
