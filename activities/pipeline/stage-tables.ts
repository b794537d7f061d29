import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { loadFeatureMatrix } from '../../domain/training/load-feature-matrix.ts';
import type { FeatureMatrix } from '../../domain/training/feature-matrix.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import type { FeatureTables } from './contract.ts';

type Split = keyof FeatureTables['splits'];

export interface StagedTables extends AsyncDisposable {
  connection: DuckDBConnection;
  /** Local Parquet path of a split (DuckDB cannot read S3 here, so splits are staged to disk). */
  path(split: Split): string;
  matrix(split: Split): Promise<FeatureMatrix>;
}

export const sqlPath = (path: string) => `'${path.replaceAll("'", "''")}'`;

/** Downloads the named splits of a feature build to a temp dir and opens DuckDB over them; disposing removes both. */
export async function stageTables(store: ArtifactStore, bucket: string, tables: FeatureTables, splits: Split[]): Promise<StagedTables> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-tables-'));
  const paths = {} as Record<Split, string>;
  try {
    for (const split of splits) {
      paths[split] = join(dir, `${split}.parquet`);
      await store.getFile(bucket, tables.splits[split].key, paths[split]);
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const path = (split: Split) => {
    const p = paths[split];
    if (!p) throw new Error(`split ${split} was not staged`);
    return p;
  };
  return {
    connection,
    path,
    matrix: (split) =>
      loadFeatureMatrix(connection, `SELECT * FROM read_parquet(${sqlPath(path(split))})`, {
        numeric: tables.featureNames.numeric,
        categorical: tables.featureNames.categorical,
        label: tables.labelColumn,
      }),
    async [Symbol.asyncDispose]() {
      connection.closeSync();
      instance.closeSync();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
