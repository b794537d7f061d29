/**
 * The data stage on all 3 000 000 real flights (Jan-Jun 2001): ingest, validate against
 * examples/flights/contract.json, and build point-in-time features from examples/flights/features.json,
 * each through its Temporal activity (in a mock activity context, so heartbeats run as in a worker)
 * against a real MinIO. The same feature SQL is also run directly in DuckDB on the local file with
 * nothing around it (no staging, statistics or uploads), before and after, as the baseline.
 *
 * Run: npx tsx bench/data.ts
 * It starts its own MinIO and Temporal dev server (scripts/infra/stack.ts) on free loopback ports with
 * data in a temp dir, and stops them on exit; the binaries come from `npm run infra:install`'s cache.
 * Prints seconds and rows/s per stage; the last line is one JSON object with every figure.
 *
 * Then the grown-dataset case: the flights as one Parquet partition per day (up to 2001-06-30), ingested
 * without the last day and built, then with it, the grown version's features built incrementally (over the previous
 * build) and in full (into another features bucket), and the ratio (issue #14's goal: at most 5 %).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { datasetContractSchema } from '../shared/data/dataset-contract.ts';
import { featureSpecSchema } from '../shared/data/feature-spec.ts';
import { buildFeatureTables, writeSplits } from '../domain/features/build-features.ts';
import { createFeatureActivities } from '../activities/features/feature-activities.ts';
import { quoteString } from '../domain/features/expression/expression-sql.ts';
import { planFeatures } from '../domain/features/feature-sql.ts';
import { openDuckDb } from '../domain/duckdb/duckdb-session.ts';
import { createIngestActivities } from '../activities/ingest/ingest-activities.ts';
import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { createValidationActivities } from '../activities/validation/validation-activities.ts';
import { startStack, stopStack } from '../scripts/infra/stack.ts';
import { benchStackConfig } from './bench-stack.ts';

const ROOT = resolve(import.meta.dirname, '..');
const FLIGHTS = join(ROOT, 'node_modules/vega-datasets/data/flights-3m.parquet');
const spec = featureSpecSchema.parse(JSON.parse(readFileSync(join(ROOT, 'examples/flights/features.json'), 'utf8')));
const contract = datasetContractSchema.parse(JSON.parse(readFileSync(join(ROOT, 'examples/flights/contract.json'), 'utf8')));

const seconds = (since: number) => (performance.now() - since) / 1000;
const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const report = (line: string) => console.log(`[bench-stack] ${line}`);

async function activity<I, O>(fn: (input: I) => Promise<O>, input: I): Promise<{ result: O; seconds: number }> {
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('WARN') });
  const start = performance.now();
  const result = await env.run<[I], O, (input: I) => Promise<O>>(fn, input);
  return { result, seconds: seconds(start) };
}

/** The feature SQL alone: the same plan and statements the activity runs, on the local file, nothing else. */
async function bareDuckDb(dir: string): Promise<number> {
  const plan = planFeatures(spec, { date: 'TIMESTAMP', delay: 'BIGINT', distance: 'BIGINT', origin: 'VARCHAR', destination: 'VARCHAR' });
  const out = mkdtempSync(join(dir, 'bare-'));
  const start = performance.now();
  {
    using duck = await openDuckDb({ tempDirectory: out });
    await buildFeatureTables(duck.db, plan, `read_parquet(${quoteString(FLIGHTS)})`);
    await writeSplits(duck.db, plan, out);
  }
  const elapsed = seconds(start);
  rmSync(out, { recursive: true, force: true });
  return elapsed;
}

/** The grown-dataset figures: one partition per day, the last day appended, incremental vs full build of the grown version. */
async function grownDataset(dir: string, deps: Parameters<typeof createFeatureActivities>[0]) {
  const source = join(dir, 'daily');
  const held = join(dir, 'held-back');
  mkdirSync(held);
  {
    using duck = await openDuckDb({ tempDirectory: dir });
    await duck.db.run(`COPY (SELECT *, strftime(date, '%Y-%m-%d') AS day FROM read_parquet(${quoteString(FLIGHTS)})) TO ${quoteString(source)} (FORMAT parquet, PARTITION_BY (day))`);
  }
  // The file ends with a few minutes of 2001-07-01; the appended day is the last full one, 2001-06-30.
  rmSync(join(source, 'day=2001-07-01'), { recursive: true, force: true });
  const days = readdirSync(source).sort();
  const lastDay = days.at(-1) as string;
  renameSync(join(source, lastDay), join(held, lastDay));
  const ingest = createIngestActivities(deps);
  const ingestDaily = (datasetName: string) => activity((i: Parameters<typeof ingest.ingestDataset>[0]) => ingest.ingestDataset(i), { datasetName, source, partitions: 'day=*/*.parquet' });
  const v1 = await ingestDaily('flights-daily');
  const features = createFeatureActivities(deps);
  const build = (activities: ReturnType<typeof createFeatureActivities>, datasetVersion: string) =>
    activity((i: Parameters<typeof features.buildFeatures>[0]) => activities.buildFeatures(i), { datasetVersion, features: spec });
  const first = await build(features, v1.result.datasetVersion);
  console.log(`daily partitions: ${days.length} days; v1 (without ${lastDay}): ingest ${v1.seconds.toFixed(2)} s, full feature build ${first.seconds.toFixed(2)} s`);

  renameSync(join(held, lastDay), join(source, lastDay));
  const v2 = await ingestDaily('flights-daily');
  const incremental = await build(features, v2.result.datasetVersion);
  if (incremental.result.build?.mode !== 'incremental') throw new Error(`expected an incremental build, got ${JSON.stringify(incremental.result.build)}`);
  const fullBucket = `${deps.buckets.features}-full`;
  await deps.store.ensureBucket(fullBucket);
  const full = await build(createFeatureActivities({ ...deps, buckets: { ...deps.buckets, features: fullBucket } }), v2.result.datasetVersion);
  const ratio = incremental.seconds / full.seconds;

  // Online snapshots as a refresh makes them: over the whole dataset (no lookback stored yet), from the
  // previous version's lookback and the new day, and from the version's own lookback (left by its build).
  const snapBucket = `${deps.buckets.features}-snapshots`;
  await deps.store.ensureBucket(snapBucket);
  const fresh = createFeatureActivities({ ...deps, buckets: { ...deps.buckets, features: snapBucket } });
  const materialize = (activities: ReturnType<typeof createFeatureActivities>, datasetVersion: string) =>
    activity((i: Parameters<typeof features.materializeOnlineFeatures>[0]) => activities.materializeOnlineFeatures(i), { datasetVersion, features: spec });
  const snapshots = { whole: await materialize(fresh, v1.result.datasetVersion), appended: await materialize(fresh, v2.result.datasetVersion), own: await materialize(features, v2.result.datasetVersion) };
  for (const [expected, run] of [['full', snapshots.whole], ['appended', snapshots.appended], ['own-lookback', snapshots.own]] as const) {
    if (run.result.events.source !== expected) throw new Error(`expected a snapshot from ${expected}, got ${run.result.events.source}`);
  }
  console.log(
    `online snapshot: over the whole dataset ${snapshots.whole.seconds.toFixed(2)} s (${snapshots.whole.result.events.count} events in the last window); after a new day, from the previous lookback ${snapshots.appended.seconds.toFixed(2)} s; from the version's own lookback ${snapshots.own.seconds.toFixed(2)} s`,
  );
  console.log(
    `grown by ${lastDay} (${incremental.result.build.appendedEvents} events, ingest ${v2.seconds.toFixed(2)} s): full feature build ${full.seconds.toFixed(2)} s, incremental ${incremental.seconds.toFixed(2)} s = ${(100 * ratio).toFixed(1)} % of full (goal <= 5 %)`,
  );
  return {
    days: days.length,
    appendedEvents: incremental.result.build.appendedEvents,
    v1FullBuildSeconds: round(first.seconds),
    grownFullBuildSeconds: round(full.seconds),
    grownIncrementalBuildSeconds: round(incremental.seconds),
    incrementalVsFull: round(ratio, 3),
    snapshotWholeDatasetSeconds: round(snapshots.whole.seconds),
    snapshotAppendedSeconds: round(snapshots.appended.seconds),
    snapshotOwnLookbackSeconds: round(snapshots.own.seconds),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-data-'));
  const { config, binaries } = await benchStackConfig(dir, report);
  let stopping: Promise<unknown> | undefined;
  const teardown = () => (stopping ??= stopStack(config.dataDir, report).finally(() => rmSync(dir, { recursive: true, force: true })));
  process.once('SIGINT', () => void teardown().finally(() => process.exit(130)));

  try {
    await startStack(config, { binaries, report, stopWhenPidExits: process.pid });
    const store = MinioArtifactStore.fromConfig(config.minio);
    const deps = { store, buckets: config.buckets, workDir: dir };
    const ingest = createIngestActivities(deps);
    const validation = createValidationActivities(deps);
    const features = createFeatureActivities(deps);
    console.log(`${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

    const bareBefore = await bareDuckDb(dir);
    console.log(`bare DuckDB feature SQL (before): ${bareBefore.toFixed(2)} s`);

    const ingested = await activity((i: Parameters<typeof ingest.ingestDataset>[0]) => ingest.ingestDataset(i), { datasetName: 'flights-3m', source: FLIGHTS });
    const rows = ingested.result.rows;
    console.log(`ingest:   ${ingested.seconds.toFixed(2)} s, ${Math.round(rows / ingested.seconds).toLocaleString('en-US')} rows/s (${ingested.result.bytes} bytes, version ${ingested.result.datasetVersion.slice(0, 12)})`);

    const datasetVersion = ingested.result.datasetVersion;
    const validated = await activity((i: Parameters<typeof validation.validateDataset>[0]) => validation.validateDataset(i), {
      datasetVersion,
      contract,
      now: '2026-01-01T00:00:00Z',
    });
    console.log(`validate: ${validated.seconds.toFixed(2)} s, ${Math.round(rows / validated.seconds).toLocaleString('en-US')} rows/s (${validated.result.verdict}, ${validated.result.checks} checks${validated.result.warnings.length ? `; ${validated.result.warnings.join('; ')}` : ''})`);

    const built = await activity((i: Parameters<typeof features.buildFeatures>[0]) => features.buildFeatures(i), { datasetVersion, features: spec });
    const splitRows = Object.fromEntries(Object.entries(built.result.splits).map(([name, s]) => [name, s.rows]));
    console.log(`features: ${built.seconds.toFixed(2)} s, ${Math.round(rows / built.seconds).toLocaleString('en-US')} rows/s (splits ${JSON.stringify(splitRows)})`);

    const bareAfter = await bareDuckDb(dir);
    console.log(`bare DuckDB feature SQL (after): ${bareAfter.toFixed(2)} s`);

    const bare = (bareBefore + bareAfter) / 2;
    const total = ingested.seconds + validated.seconds + built.seconds;
    const figures = {
      rows,
      cores: cpus().length,
      loadAverage1m: round(loadavg()[0] ?? 0),
      ingestSeconds: round(ingested.seconds),
      ingestRowsPerSecond: Math.round(rows / ingested.seconds),
      validateSeconds: round(validated.seconds),
      validateRowsPerSecond: Math.round(rows / validated.seconds),
      featuresSeconds: round(built.seconds),
      featuresRowsPerSecond: Math.round(rows / built.seconds),
      totalSeconds: round(total),
      totalRowsPerSecond: Math.round(rows / total),
      bareDuckDbFeatureSeconds: [round(bareBefore), round(bareAfter)],
      featuresVsBareDuckDb: round(built.seconds / bare),
      validationVerdict: validated.result.verdict,
      splits: splitRows,
      grown: await grownDataset(dir, deps),
    };
    console.log(`whole data stage: ${total.toFixed(2)} s; features activity / bare DuckDB = ${figures.featuresVsBareDuckDb}x`);
    console.log(JSON.stringify(figures));
  } finally {
    await teardown();
  }
}

await main();
