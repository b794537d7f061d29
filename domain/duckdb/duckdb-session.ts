import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/**
 * One in-memory DuckDB per activity run. Sessions run in UTC so calendar functions on TIMESTAMP WITH
 * TIME ZONE read the same wall clock as the JavaScript backend; spills go to the activity's own temp
 * directory, which the activity removes.
 */
export interface DuckDbSession extends Disposable {
  db: DuckDBConnection;
}

export async function openDuckDb(options: { tempDirectory: string }): Promise<DuckDbSession> {
  const instance = await DuckDBInstance.create(':memory:', { temp_directory: options.tempDirectory });
  const db = await instance.connect();
  await db.run(`SET TimeZone = 'UTC'`);
  return {
    db,
    [Symbol.dispose]() {
      db.closeSync();
      instance.closeSync();
    },
  };
}

/** The first cell of a statement's result as a number (row counts from COPY and CREATE TABLE AS). */
export async function countOf(db: DuckDBConnection, sql: string): Promise<number> {
  const reader = await db.runAndReadAll(sql);
  const value = reader.getRows()[0]?.[0];
  return value === undefined || value === null ? 0 : Number(value);
}
