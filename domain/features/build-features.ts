import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier, quoteString } from './expression/expression-sql.ts';
import type { FeaturePlan } from './feature-sql.ts';
import { type ResolvedSplit, resolveSplits } from '../../shared/data/feature-spec.ts';
import { formatTimestampUtc } from '../../shared/data/timestamp.ts';
import { countOf } from '../duckdb/duckdb-session.ts';

/**
 * Runs a feature plan on a DuckDB connection: raw events → __events → running totals → __features,
 * then one Parquet file per split. Used by the activity, the benchmark's bare-DuckDB baseline and
 * the parity and leakage tests, so all of them exercise the same statements.
 */

export type BuildStage = 'events' | 'aggregates' | 'features' | 'splits';

/** __events and the running totals: everything windowed aggregates are read from, offline or as of an instant. */
export async function prepareAggregates(db: DuckDBConnection, plan: FeaturePlan, source: string, onStage: (stage: BuildStage) => void = () => {}): Promise<{ events: number }> {
  onStage('events');
  // __row numbers events in file order, which needs insertion order kept; every later statement
  // either orders explicitly or does not depend on order, and runs markedly faster without it.
  await db.run('SET preserve_insertion_order = true');
  const events = await countOf(db, plan.eventsSql(source));
  await db.run('SET preserve_insertion_order = false');
  onStage('aggregates');
  for (const statement of plan.cumulativeSql()) await db.run(statement);
  return { events };
}

/** __features: one row per event with every feature, before the split filter. */
export async function buildFeatureTables(db: DuckDBConnection, plan: FeaturePlan, source: string, onStage: (stage: BuildStage) => void = () => {}): Promise<{ events: number }> {
  const { events } = await prepareAggregates(db, plan, source, onStage);
  onStage('features');
  await db.run(plan.featuresSql());
  return { events };
}

export interface WrittenSplit extends ResolvedSplit {
  path: string;
  rows: number;
}

/**
 * One Parquet file per split, with splits relative to the dataset's end resolved against the newest
 * event time in __events (returned, as epoch ms, with each split's resolved bounds).
 */
export async function writeSplits(
  db: DuckDBConnection,
  plan: FeaturePlan,
  dir: string,
  onStage: (stage: BuildStage) => void = () => {},
): Promise<{ splits: WrittenSplit[]; newestEventMs: number | undefined }> {
  onStage('splits');
  const newest = (await db.runAndReadAll('SELECT epoch_ms(max(__t)) FROM __events')).getRows()[0]?.[0];
  const newestEventMs = newest === null || newest === undefined ? undefined : Number(newest);
  const splits: WrittenSplit[] = [];
  for (const split of resolveSplits(plan.analysed.splits, newestEventMs)) {
    const path = join(dir, `${split.name}.parquet`);
    const rows = await countOf(db, `COPY (${plan.splitSql(split)}) TO ${quoteString(path)} (FORMAT parquet, COMPRESSION zstd)`);
    splits.push({ ...split, path, rows });
  }
  return { splits, newestEventMs };
}

/** Writes the lookback an incremental build of a later, appended version starts from (`FeaturePlan.lookbackSql`). */
export async function writeLookback(db: DuckDBConnection, plan: FeaturePlan, path: string, newestEventMs: number | undefined): Promise<number> {
  const rows = newestEventMs === undefined ? 'SELECT * FROM __events WHERE false' : plan.lookbackSql(newestEventMs);
  return countOf(db, `COPY (${rows}) TO ${quoteString(path)} (FORMAT parquet, COMPRESSION zstd)`);
}

/**
 * __events for an incremental build: the appended events read from `source`, after the previous
 * build's lookback (a Parquet path) and numbered after its `previousEvents`, then the running totals
 * and __features. Returns undefined, leaving nothing built, unless every appended event is strictly
 * after `previousNewestMs`: only then are the earlier events' features unchanged and the lookback enough.
 */
export async function buildAppendedFeatureTables(
  db: DuckDBConnection,
  plan: FeaturePlan,
  args: { source: string; lookbackPath: string; previousEvents: number; previousNewestMs: number | undefined },
  onStage: (stage: BuildStage) => void = () => {},
): Promise<{ appended: number } | { olderEventMs: number }> {
  onStage('events');
  await db.run('SET preserve_insertion_order = true');
  const appended = await countOf(db, plan.eventsSql(args.source, '__appended'));
  await db.run('SET preserve_insertion_order = false');
  const oldest = (await db.runAndReadAll('SELECT epoch_ms(min(__t)) FROM __appended')).getRows()[0]?.[0];
  if (oldest !== null && oldest !== undefined && args.previousNewestMs !== undefined && Number(oldest) <= args.previousNewestMs) {
    await db.run('DROP TABLE __appended');
    return { olderEventMs: Number(oldest) };
  }
  await db.run(plan.appendEventsSql('__appended', `read_parquet(${quoteString(args.lookbackPath)})`, args.previousEvents));
  await db.run('DROP TABLE __appended');
  onStage('aggregates');
  for (const statement of plan.cumulativeSql()) await db.run(statement);
  onStage('features');
  await db.run(plan.featuresSql(args.previousEvents));
  return { appended };
}

/** A split of the previous build: its bounds, how many files it is, and (downloaded on first call) those files, in order. */
export interface PreviousSplit extends ResolvedSplit {
  rows: number;
  parts: number;
  paths: () => Promise<string[]>;
}

/**
 * A split of an incremental build: the previous one as it is (`reused`), rewritten whole (`path`
 * holds all `rows`), or grown by a part (`path` holds only the appended rows, after `appendedTo`'s files).
 */
export type AppendedSplit = (WrittenSplit & { reused: false; appendedTo?: PreviousSplit }) | (ResolvedSplit & { rows: number; reused: true });

/**
 * Past this many files a growing split is rewritten as one: each part is a request to stage it and
 * a file to open, and a daily append would otherwise add a part a day forever.
 */
const MAX_SPLIT_PARTS = 32;

const overlaps = (a: ResolvedSplit, b: ResolvedSplit) => (a.from ?? -Infinity) < (b.until ?? Infinity) && (b.from ?? -Infinity) < (a.until ?? Infinity);

/**
 * The splits of an incremental build: a split whose bounds did not move and that gains no appended
 * row is the previous files as they are; one whose bounds did not move and that gains rows gets them
 * as a new last part (every appended event is later than every previous one, so the concatenation
 * stays in order), so one new day costs that day's rows, not a rewrite of the month before it. Any
 * other is rewritten from the rows of the previous split files it overlaps (kept in their order) and
 * the appended rows inside its bounds. Rows left out of every
 * split never come back: bounds only move forward in time. The bounds resolve against the newest
 * event of the appended __events (an append only adds later events).
 */
export async function writeAppendedSplits(
  db: DuckDBConnection,
  plan: FeaturePlan,
  dir: string,
  previous: PreviousSplit[],
  previousEvents: number,
  onStage: (stage: BuildStage) => void = () => {},
): Promise<{ splits: AppendedSplit[]; newestEventMs: number | undefined }> {
  onStage('splits');
  const newest = (await db.runAndReadAll('SELECT epoch_ms(max(__t)) FROM __events')).getRows()[0]?.[0];
  const newestEventMs = newest === null || newest === undefined ? undefined : Number(newest);
  const appendedPath = join(dir, 'appended-rows.parquet');
  await db.run(`COPY (${plan.splitSql({ name: 'appended', from: undefined, until: undefined }, previousEvents)}) TO ${quoteString(appendedPath)} (FORMAT parquet, COMPRESSION zstd)`);
  const eventTime = quoteIdentifier(plan.spec.eventTime);
  const inBounds = (split: ResolvedSplit) =>
    [
      ...(split.from === undefined ? [] : [`${eventTime} >= TIMESTAMP ${quoteString(formatTimestampUtc(split.from))}`]),
      ...(split.until === undefined ? [] : [`${eventTime} < TIMESTAMP ${quoteString(formatTimestampUtc(split.until))}`]),
    ].join(' AND ') || 'true';
  const splits: AppendedSplit[] = [];
  for (const split of resolveSplits(plan.analysed.splits, newestEventMs)) {
    const before = previous.find((p) => p.name === split.name);
    const gains = await countOf(db, `SELECT count(*) FROM read_parquet(${quoteString(appendedPath)}) WHERE ${inBounds(split)}`);
    const sameBounds = before !== undefined && before.from === split.from && before.until === split.until;
    if (sameBounds && gains === 0) {
      splits.push({ ...split, rows: before.rows, reused: true });
      continue;
    }
    if (sameBounds && before.parts < MAX_SPLIT_PARTS) {
      const path = join(dir, `${split.name}.parquet`);
      const part = await countOf(
        db,
        `COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet(${quoteString(appendedPath)}, file_row_number = true) WHERE ${inBounds(split)} ORDER BY file_row_number) TO ${quoteString(path)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      splits.push({ ...split, path, rows: before.rows + part, reused: false, appendedTo: before });
      continue;
    }
    // Previous files first, in split (so time) order, then the appended rows: each file is already in
    // (event time, event number) order and every appended event is later than every previous one.
    const files = [...(await Promise.all(previous.filter((p) => overlaps(p, split)).map((p) => p.paths()))).flat(), appendedPath];
    const parts = files.map((file, i) => `SELECT *, ${i} AS __file FROM read_parquet(${quoteString(file)}, file_row_number = true) WHERE ${inBounds(split)}`);
    const path = join(dir, `${split.name}.parquet`);
    const rows = await countOf(
      db,
      `COPY (SELECT * EXCLUDE (__file, file_row_number) FROM (${parts.join(' UNION ALL ')}) ORDER BY __file, file_row_number) TO ${quoteString(path)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    splits.push({ ...split, path, rows, reused: false });
  }
  return { splits, newestEventMs };
}
