import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DatasetManifest } from '../../shared/data/dataset.ts';
import { formatTimestampUtc } from '../../shared/data/timestamp.ts';
import { featureKeys } from '../../shared/storage-keys.ts';
import { stageDataset } from '../datasets/dataset-staging.ts';
import { earlierVersions, requireManifest } from '../datasets/dataset-store.ts';
import { countOf } from '../duckdb/duckdb-session.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { quoteString } from './expression/expression-sql.ts';
import type { FeaturePlan } from './feature-sql.ts';
import { appendedPartitions } from './incremental-plan.ts';

/**
 * The events a snapshot as of T reads: only contributions known in [T - longest window, T) enter a
 * window ending at T, and those are in the dataset version's lookback (the events an incremental
 * build starts from, `FeaturePlan.lookbackSql`) whenever T is at or after the newest event. So a
 * snapshot is materialized from, in order of preference:
 *   - the version's own lookback object, when a feature build or an earlier refresh wrote it: no
 *     dataset file is read at all;
 *   - the lookback of the nearest earlier version that this one only appends partitions to, plus
 *     the appended partitions' events (then this version's lookback is written for the next refresh);
 *   - the whole dataset, once (and its lookback written).
 * Groups with nothing known in the last window are then absent from the snapshot, where before they
 * were stored with empty-window values; the online path gives an absent group exactly those values
 * (count 0, sum 0, mean NULL), so every served feature is unchanged, and the snapshot holds only the
 * groups active within a window rather than every group ever seen.
 */

export type SnapshotEventSource = 'own-lookback' | 'appended' | 'full';

export interface SnapshotEvents {
  /** The snapshot's instant (epoch ms): the requested one, or just after the newest event. */
  asOf: number;
  source: SnapshotEventSource;
  /** Events the running totals were computed over (after the window cut). */
  events: number;
  /** Why the appended path was not taken, when the whole dataset was read. */
  fullReason?: string;
}

interface Context {
  store: ArtifactStore;
  buckets: { datasets: string; features: string };
  db: DuckDBConnection;
  plan: FeaturePlan;
  dataset: DatasetManifest;
  specHash: string;
  dir: string;
  onStage: (stage: string) => void;
}

const newestOf = async (db: DuckDBConnection): Promise<number | undefined> => {
  const newest = (await db.runAndReadAll('SELECT epoch_ms(max(__t)) FROM __events')).getRows()[0]?.[0];
  return newest === null || newest === undefined ? undefined : Number(newest);
};

/**
 * __events cut to the last window before the snapshot instant, and the running totals over them, on
 * `db`; `asOf` undefined means just after the newest event (the data's end).
 */
export async function prepareSnapshotEvents(ctx: Context, asOf: number | undefined): Promise<SnapshotEvents> {
  const { store, buckets, db, plan, dataset, specHash, dir } = ctx;
  const ownKey = featureKeys.lookback(specHash, dataset.version);
  let source: SnapshotEventSource;
  let fullReason: string | undefined;
  if (await store.stat(buckets.features, ownKey)) {
    ctx.onStage('reading lookback');
    const path = join(dir, 'lookback.parquet');
    await store.getFile(buckets.features, ownKey, path);
    await db.run(`CREATE OR REPLACE TEMP TABLE __events AS SELECT * FROM read_parquet(${quoteString(path)})`);
    source = 'own-lookback';
  } else {
    const previous = await previousLookback(ctx);
    let appended = false;
    if ('key' in previous) appended = await appendToLookback(ctx, previous);
    else fullReason = previous.reason;
    if (appended) source = 'appended';
    else {
      fullReason ??= 'an appended event is not after the previous version’s newest';
      await readWholeDataset(ctx);
      source = 'full';
    }
    await writeOwnLookback(ctx, ownKey);
  }

  const newest = await newestOf(db);
  // Before the newest event, a window may reach back past the lookback: the whole dataset then.
  if (source !== 'full' && asOf !== undefined && newest !== undefined && asOf < newest) {
    await readWholeDataset(ctx);
    source = 'full';
    fullReason = `as of ${formatTimestampUtc(asOf)}, before the dataset's newest event`;
  }
  const instant = asOf ?? (newest === undefined ? Date.now() : newest + 1);
  ctx.onStage('aggregates');
  const events = await countOf(db, `CREATE OR REPLACE TEMP TABLE __events AS ${plan.lookbackSql(instant)}`);
  for (const statement of plan.cumulativeSql()) await db.run(statement);
  return { asOf: instant, source, events, ...(fullReason === undefined ? {} : { fullReason }) };
}

/** __events from every partition, numbered in file order as a full feature build numbers them (the lookback written from them is then the build's). */
async function readWholeDataset(ctx: Context): Promise<void> {
  const { store, buckets, db, plan, dataset, dir } = ctx;
  ctx.onStage('staging');
  const { relation } = await stageDataset(store, buckets.datasets, dataset, dir);
  await db.run('SET preserve_insertion_order = true');
  await countOf(db, plan.eventsSql(relation));
  await db.run('SET preserve_insertion_order = false');
}

/** The nearest earlier version of the dataset with a lookback for this spec that the current one only appends partitions to. */
async function previousLookback(ctx: Context): Promise<{ key: string; previous: DatasetManifest; appended: DatasetManifest['partitions'] } | { reason: string }> {
  const { store, buckets, dataset, specHash } = ctx;
  for (const version of await earlierVersions(store, buckets.datasets, dataset.name, dataset.version)) {
    const key = featureKeys.lookback(specHash, version);
    if (!(await store.stat(buckets.features, key))) continue;
    const previous = await requireManifest(store, buckets.datasets, version);
    const check = appendedPartitions(previous, dataset);
    return 'reason' in check ? check : { key, previous, appended: check.appended };
  }
  return { reason: `no earlier version of dataset ${dataset.name} has a lookback for this feature spec` };
}

/** __events = the previous lookback and the appended partitions' events; false (nothing kept) when an appended event is not after the previous newest. */
async function appendToLookback(ctx: Context, previous: { key: string; previous: DatasetManifest; appended: DatasetManifest['partitions'] }): Promise<boolean> {
  const { store, buckets, db, plan, dir } = ctx;
  ctx.onStage('staging appended partitions');
  const lookbackPath = join(dir, 'previous-lookback.parquet');
  await store.getFile(buckets.features, previous.key, lookbackPath);
  const appendedDir = join(dir, 'appended');
  await mkdir(appendedDir);
  const { relation } = await stageDataset(store, buckets.datasets, { ...previous.previous, partitions: previous.appended }, appendedDir);
  await db.run(`CREATE OR REPLACE TEMP TABLE __events AS SELECT * FROM read_parquet(${quoteString(lookbackPath)})`);
  const previousNewest = await newestOf(db);
  await db.run('SET preserve_insertion_order = true');
  await countOf(db, plan.eventsSql(relation, '__appended'));
  await db.run('SET preserve_insertion_order = false');
  const oldest = (await db.runAndReadAll('SELECT epoch_ms(min(__t)) FROM __appended')).getRows()[0]?.[0];
  if (oldest !== null && oldest !== undefined && previousNewest !== undefined && Number(oldest) <= previousNewest) {
    await db.run('DROP TABLE __appended');
    return false;
  }
  // Event numbers only need to keep file order within this chain (the snapshot reads none of them).
  const rowOffset = await countOf(db, 'SELECT coalesce(max(__row), 0) FROM __events');
  await db.run(plan.appendEventsSql('__appended', '__events', rowOffset));
  await db.run('DROP TABLE __appended');
  return true;
}

/** This version's lookback, for the next refresh (or incremental feature build) to start from; the same rows whoever writes it. */
async function writeOwnLookback(ctx: Context, key: string): Promise<void> {
  const { store, buckets, db, plan, dir } = ctx;
  const newest = await newestOf(db);
  const path = join(dir, 'own-lookback.parquet');
  await countOf(db, `COPY (${newest === undefined ? 'SELECT * FROM __events WHERE false' : plan.lookbackSql(newest)}) TO ${quoteString(path)} (FORMAT parquet, COMPRESSION zstd)`);
  await store.putFile(buckets.features, key, path, { contentType: 'application/vnd.apache.parquet' });
}
