import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { loadFeatureMatrix } from '../../domain/training/load-feature-matrix.ts';
import type { FeatureMatrix } from '../../domain/training/feature-matrix.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { splitKeys } from '../../shared/data/feature-tables.ts';
import type { FeatureTables } from './contract.ts';

export type Split = keyof FeatureTables['splits'];
/** Local Parquet files of staged splits, each split's files in event order. */
export type SplitFiles = Partial<Record<Split, string[]>>;

export interface StagedTables extends AsyncDisposable {
  connection: DuckDBConnection;
  /** A DuckDB relation reading a split's local Parquet files (DuckDB cannot read S3 here, so splits are staged to disk). */
  relation(split: Split): string;
  matrix(split: Split): Promise<FeatureMatrix>;
}

export const sqlPath = (path: string) => `'${path.replaceAll("'", "''")}'`;

/** A temp dir holding the named splits of a feature build; disposing removes it. */
export interface DownloadedSplits extends AsyncDisposable {
  files: SplitFiles;
}

export async function downloadSplits(store: ArtifactStore, bucket: string, tables: FeatureTables, splits: Split[]): Promise<DownloadedSplits> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-tables-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  const files: SplitFiles = {};
  try {
    for (const split of splits) {
      const keys = splitKeys(tables.splits[split]);
      const paths = keys.map((_, i) => join(dir, `${split}-${i}.parquet`));
      for (const [i, key] of keys.entries()) await store.getFile(bucket, key, paths[i] as string);
      files[split] = paths;
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return { files, [Symbol.asyncDispose]: remove };
}

/** Opens DuckDB over staged split files; disposing closes it (the files stay, their owner removes them). */
export async function openSplits(tables: FeatureTables, files: SplitFiles): Promise<StagedTables> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const relation = (split: Split) => {
    const p = files[split];
    if (!p) throw new Error(`split ${split} was not staged`);
    // A list keeps the files' order, and each file's rows in order: the split's event order.
    return `read_parquet([${p.map(sqlPath).join(', ')}])`;
  };
  return {
    connection,
    relation,
    matrix: (split) =>
      loadFeatureMatrix(connection, `SELECT * FROM ${relation(split)}`, {
        numeric: tables.featureNames.numeric,
        categorical: tables.featureNames.categorical,
        label: tables.labelColumn,
      }, tables.label),
    async [Symbol.asyncDispose]() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Downloads the named splits of a feature build to a temp dir and opens DuckDB over them; disposing removes both. */
export async function stageTables(store: ArtifactStore, bucket: string, tables: FeatureTables, splits: Split[]): Promise<StagedTables> {
  const downloaded = await downloadSplits(store, bucket, tables, splits);
  const opened = await openSplits(tables, downloaded.files).catch(async (err: unknown) => {
    await downloaded[Symbol.asyncDispose]();
    throw err;
  });
  return {
    ...opened,
    async [Symbol.asyncDispose]() {
      await opened[Symbol.asyncDispose]();
      await downloaded[Symbol.asyncDispose]();
    },
  };
}
