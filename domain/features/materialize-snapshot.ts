import type { DuckDBConnection } from '@duckdb/node-api';
import type { EntityKeyValue, OnlineSnapshotTable } from '../../shared/data/online-snapshot.ts';
import { formatTimestampUtc } from '../../shared/data/timestamp.ts';
import { quoteString } from './expression/expression-sql.ts';
import type { FeaturePlan } from './feature-sql.ts';

/**
 * Windowed aggregates of every group as of given instants, from the running totals a feature build
 * left in the session (__cum_<i>): the online store's contents, computed by the same joins that give
 * each offline row its values. Several instants in one pass serve the parity test; a materialization
 * passes one.
 */
export async function materializeSnapshotTables(db: DuckDBConnection, plan: FeaturePlan, asOf: readonly number[]): Promise<Map<number, OnlineSnapshotTable[]>> {
  const byInstant = new Map<number, OnlineSnapshotTable[]>(asOf.map((t) => [t, []]));
  await db.run('CREATE OR REPLACE TEMP TABLE __as_of (__as_of TIMESTAMP)');
  await db.run(`INSERT INTO __as_of VALUES ${asOf.map((t) => `(TIMESTAMP ${quoteString(formatTimestampUtc(t))})`).join(', ')}`);
  for (const family of plan.families) {
    const features = family.aggregates.map((a) => a.name);
    const tables = new Map<number, OnlineSnapshotTable>();
    for (const t of asOf) {
      const table: OnlineSnapshotTable = { groupBy: [...family.groupBy], features, entries: [] };
      tables.set(t, table);
      byInstant.get(t)?.push(table);
    }
    const sql = `SELECT epoch_ms(__as_of) AS __as_of_ms, * EXCLUDE (__as_of) FROM (${plan.snapshotSql(family, '__as_of')}) ORDER BY ALL`;
    const reader = await db.runAndReadAll(sql);
    const keyCount = family.groupBy.length;
    for (const row of reader.getRowsJS()) {
      const instant = Number(row[0]);
      const key = row.slice(1, 1 + keyCount) as EntityKeyValue[];
      const values = row.slice(1 + keyCount) as (number | null)[];
      tables.get(instant)?.entries.push([key, values]);
    }
  }
  return byInstant;
}
