import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../../../shared/config.ts';
import { type CheckResult, type DatasetContractInput, datasetContractSchema, validationReportSchema } from '../../../shared/data/dataset-contract.ts';
import { ErrorType } from '../../../shared/errors.ts';
import { createIngestActivities } from '../../../activities/ingest/ingest-activities.ts';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { createValidationActivities } from '../../../activities/validation/validation-activities.ts';
import { stackConfig } from '../../support/stack.ts';
import { FLIGHTS_PARQUET, type FixtureDir, expectFailure, fixtureDir, isolatedBuckets, runActivity, snapshotBuckets, sqlPath } from './fixtures.ts';

/** Validation against a real MinIO: the flights contract, each check failing on a file made to fail it, and the stored report. */
describe('validateDataset', () => {
  const config = stackConfig();
  const store = MinioArtifactStore.fromConfig(config.minio);
  const flightsContract = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../examples/flights/contract.json'), 'utf8')) as DatasetContractInput;
  const now = '2026-01-01T00:00:00Z';
  let buckets: Config['buckets'];
  let fixtures: FixtureDir;
  let ingestActivities: ReturnType<typeof createIngestActivities>;
  let validationActivities: ReturnType<typeof createValidationActivities>;
  const ingest = (datasetName: string, source: string) => runActivity((i) => ingestActivities.ingestDataset(i), { datasetName, source });
  const validate = (input: Parameters<typeof validationActivities.validateDataset>[0]) => runActivity((i) => validationActivities.validateDataset(i), input);
  const readReport = async (key: string) => validationReportSchema.parse(JSON.parse((await store.get(buckets.reports, key)).toString()));
  const byCheck = (checks: CheckResult[], check: string, column?: string) => {
    const found = checks.find((c) => c.check === check && c.column === column);
    assert.ok(found, `no ${check}(${column ?? ''}) in the report`);
    return found;
  };

  /** Writes `SELECT ...` over the first 20 000 flights as a file; `select` may use the relation `f`. */
  const flightsFile = async (name: string, select: string, format: 'parquet' | 'csv' = 'parquet') => {
    const path = fixtures.path(name);
    await fixtures.sql(
      `COPY (WITH f AS (SELECT * FROM read_parquet(${sqlPath(FLIGHTS_PARQUET)}) LIMIT 20000) ${select}) TO ${sqlPath(path)} (FORMAT ${format}${format === 'csv' ? ', HEADER true' : ''})`,
    );
    return path;
  };

  /** The flights contract for 20 000-row files (min_rows lowered) with duplicates made an error. */
  const contract: DatasetContractInput = {
    ...flightsContract,
    checks: [
      ...(flightsContract.checks ?? []).filter((c) => c.check !== 'min_rows' && c.check !== 'duplicates'),
      { check: 'min_rows', min: 1000 },
      { check: 'duplicates', maxRate: 0.001 },
    ],
  };

  before(async () => {
    buckets = await isolatedBuckets(store, 'validate');
    fixtures = fixtureDir();
    ingestActivities = createIngestActivities({ store, buckets, workDir: fixtures.dir });
    validationActivities = createValidationActivities({ store, buckets, workDir: fixtures.dir });
  });
  after(() => fixtures[Symbol.dispose]());

  test('real flights pass the flights contract; the report is stored, readable and complete', async () => {
    const { datasetVersion } = await ingest('flights-ok', await flightsFile('ok.parquet', 'SELECT * FROM f'));
    const result = await validate({ datasetVersion, contract, now });
    assert.equal(result.verdict, 'pass');
    assert.deepEqual(result.warnings, []);
    const report = await readReport(result.reportKey);
    assert.equal(report.datasetVersion, datasetVersion);
    assert.equal(report.rowCount, 20_000);
    assert.equal(report.now, '2026-01-01T00:00:00.000Z');
    assert.equal(report.checks.length, 5 + datasetContractSchema.parse(contract).checks.length);
    assert.ok(report.checks.every((c) => c.verdict === 'pass'));
    const balance = byCheck(report.checks, 'class_balance');
    assert.ok((balance.observed.positiveRate as number) > 0.05 && (balance.observed.positiveRate as number) < 0.5);
    assert.equal(byCheck(report.checks, 'range', 'distance').observed.violations, 0);
  });

  const failing: { name: string; file: () => Promise<string>; failed: string[]; check: (checks: CheckResult[]) => void }[] = [
    {
      name: 'future timestamps',
      file: () => flightsFile('future.parquet', `SELECT * REPLACE (CASE WHEN delay > 100 THEN date + INTERVAL 30 YEAR ELSE date END AS date) FROM f`),
      failed: ['not_in_future(date)', 'timestamp_range(date)'],
      check: (checks) => {
        const future = byCheck(checks, 'not_in_future', 'date');
        assert.ok((future.observed.violations as number) > 0);
        assert.match(JSON.stringify(future.observed.max), /^"203\d-/);
      },
    },
    {
      name: 'duplicate rows',
      file: () => flightsFile('duplicates.parquet', `SELECT * FROM f UNION ALL (SELECT * FROM f LIMIT 2000)`),
      failed: ['duplicates'],
      check: (checks) => assert.equal(byCheck(checks, 'duplicates').observed.duplicates, 2000),
    },
    {
      name: 'a missing column',
      file: () => flightsFile('no-distance.parquet', 'SELECT * EXCLUDE (distance) FROM f'),
      failed: ['column_type(distance)', 'range(distance)'],
      check: (checks) => {
        assert.deepEqual(byCheck(checks, 'column_type', 'distance').observed, { missing: true });
        assert.equal(byCheck(checks, 'null_rate', 'distance').verdict, 'warn', 'a warning-level check on the missing column warns');
      },
    },
    {
      name: 'a CSV with a wrong type (text in an integer column)',
      file: () => flightsFile('wrong-type.csv', `SELECT * REPLACE (CASE WHEN origin = 'ORD' THEN 'n/a' ELSE CAST(delay AS VARCHAR) END AS delay) FROM f`, 'csv'),
      failed: ['column_type(delay)', 'class_balance'],
      check: (checks) => {
        assert.deepEqual(byCheck(checks, 'column_type', 'delay').observed, { type: 'VARCHAR' });
        assert.equal(byCheck(checks, 'range', 'delay').verdict, 'warn');
        assert.match(byCheck(checks, 'class_balance').message, /cannot be computed/);
      },
    },
    {
      name: 'values out of range, too many NULLs, skewed classes',
      file: () => flightsFile('skewed.parquet', `SELECT * REPLACE (CASE WHEN distance > 2000 THEN NULL ELSE distance * 10 END AS distance, delay + 60 AS delay) FROM f`),
      failed: ['range(distance)', 'class_balance'],
      check: (checks) => {
        assert.equal(byCheck(checks, 'null_rate', 'distance').verdict, 'warn');
        assert.ok((byCheck(checks, 'class_balance').observed.positiveRate as number) > 0.5);
      },
    },
  ];
  for (const c of failing) {
    test(`fails with DatasetInvalid on ${c.name}, naming the checks; only the report is written`, async () => {
      const { datasetVersion } = await ingest(`flights-${c.name.replace(/[^a-z]+/g, '-').replace(/-$/, '')}`, await c.file());
      const before = await snapshotBuckets(store, buckets);
      const failure = await expectFailure(validate({ datasetVersion, contract, now }), ErrorType.DatasetInvalid);
      const details = failure.details?.[0] as { reportKey: string; failedChecks: string[] };
      assert.deepEqual([...details.failedChecks].sort(), [...c.failed].sort());
      for (const name of c.failed) assert.ok(failure.message.includes(name.replace(/\(.*/, '')), `message names ${name}: ${failure.message}`);
      const report = await readReport(details.reportKey);
      assert.equal(report.verdict, 'fail');
      c.check(report.checks);

      const afterwards = await snapshotBuckets(store, buckets);
      const added = Object.values(afterwards).flat().filter((o) => !Object.values(before).flat().includes(o));
      assert.deepEqual(added.map((o) => o.split(' ')[0]), [details.reportKey]);
    });
  }

  test('"future" is judged against the injected now', async () => {
    const { datasetVersion } = await ingest('flights-now', await flightsFile('now.parquet', 'SELECT * FROM f'));
    const early = { datasetVersion, now: '2001-01-02T00:00:00Z', contract: { name: 'future only', checks: [{ check: 'not_in_future' as const, column: 'date' }] } };
    const failure = await expectFailure(validate(early), ErrorType.DatasetInvalid);
    assert.deepEqual((failure.details?.[0] as { failedChecks: string[] }).failedChecks, ['not_in_future(date)']);
    assert.equal((await validate({ ...early, now: '2001-07-02T00:00:00Z' })).verdict, 'pass');
  });

  test('row count and schema are compared with the previous version of the same name', async () => {
    const v1 = await ingest('flights-versions', await flightsFile('v1.parquet', 'SELECT * FROM f LIMIT 2000'));
    const v2 = await ingest('flights-versions', await flightsFile('v2.parquet', "SELECT *, 'x' AS carrier FROM f"));
    assert.equal(v2.previousVersion, v1.datasetVersion);
    const failure = await expectFailure(validate({ datasetName: 'flights-versions', datasetVersion: v2.datasetVersion, contract, now }), ErrorType.DatasetInvalid);
    const { reportKey, failedChecks } = failure.details?.[0] as { reportKey: string; failedChecks: string[] };
    assert.deepEqual(failedChecks, ['schema_change']);
    const report = await readReport(reportKey);
    assert.equal(report.previousVersion, v1.datasetVersion);
    assert.deepEqual(byCheck(report.checks, 'schema_change').observed.added, ['carrier']);
    const change = byCheck(report.checks, 'row_count_change');
    assert.equal(change.verdict, 'warn');
    assert.equal(change.observed.relativeChange, 9);

    const warned = await validate({ datasetName: 'flights-versions', datasetVersion: v2.datasetVersion, contract: { ...contract, checks: contract.checks?.filter((c) => c.check !== 'schema_change') }, now });
    assert.equal(warned.verdict, 'warn');
    assert.match(warned.warnings.join('\n'), /row_count_change: 2000 -> 20000 rows/);
  });

  test('an unknown dataset version is DatasetNotFound; a bad contract is InvalidInput', async () => {
    await expectFailure(validate({ datasetVersion: 'f'.repeat(64), contract, now }), ErrorType.DatasetNotFound);
    const failure = await expectFailure(validate({ datasetVersion: 'f'.repeat(64), contract: { name: 'x', checks: [{ check: 'null_rate', column: 'a', max: 2 }] }, now }), ErrorType.InvalidInput);
    assert.match(failure.message, /contract\.checks\.0\.max/);
  });

  test('the same validation again writes the same report at the same key', async () => {
    const { datasetVersion } = await ingest('flights-ok', await flightsFile('ok.parquet', 'SELECT * FROM f'));
    const first = await validate({ datasetVersion, contract, now });
    const bytes = await store.get(buckets.reports, first.reportKey);
    const second = await validate({ datasetVersion, contract, now });
    assert.equal(second.reportKey, first.reportKey);
    assert.ok((await store.get(buckets.reports, second.reportKey)).equals(bytes));
  });

  test('a CSV whose wrong value is on its last line is still typed VARCHAR (types are detected over the whole file)', async () => {
    const path = await flightsFile('late-bad.csv', 'SELECT * FROM f', 'csv');
    writeFileSync(path, `${readFileSync(path, 'utf8')}2001-02-01 10:00:00,oops,100,ATL,ORD\n`);
    const { datasetVersion, schema } = await ingest('flights-late-bad', path);
    assert.equal(schema.find((c) => c.name === 'delay')?.type, 'VARCHAR');
    await expectFailure(validate({ datasetVersion, contract, now }), ErrorType.DatasetInvalid);
  });
});
