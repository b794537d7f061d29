import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/** A temp directory and an in-memory DuckDB for the enclosing `describe`: made in `before`, removed in `after`. */
export function scratchDuckDbForSuite(prefix: string): { readonly dir: string; readonly db: DuckDBConnection } {
  let dir: string | undefined;
  let instance: DuckDBInstance | undefined;
  let db: DuckDBConnection | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    instance = await DuckDBInstance.create(':memory:');
    db = await instance.connect();
  });
  after(() => {
    db?.closeSync();
    instance?.closeSync();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      if (dir === undefined) throw new Error('the scratch directory is made in the suite\'s before hook');
      return dir;
    },
    get db() {
      if (db === undefined) throw new Error('the scratch database is opened in the suite\'s before hook');
      return db;
    },
  };
}
