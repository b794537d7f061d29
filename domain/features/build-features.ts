import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteString } from './expression/expression-sql.ts';
import type { FeaturePlan } from './feature-sql.ts';
import { type ResolvedSplit, resolveSplits } from '../../shared/data/feature-spec.ts';
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
