import { join } from 'node:path';
import type { DatasetManifest } from '../../shared/data/dataset.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { readerSql } from './dataset-reader.ts';

/**
 * Downloads every file of a dataset version into `dir` (DuckDB cannot reach S3 here) and returns the
 * relation that reads them all: the one file, or every partition in the manifest's order.
 */
export async function stageDataset(store: ArtifactStore, bucket: string, manifest: DatasetManifest, dir: string): Promise<{ relation: string; files: number }> {
  const keys = manifest.partitions?.map((p) => p.key) ?? (manifest.sourceKey === undefined ? [] : [manifest.sourceKey]);
  if (keys.length === 0) throw new Error(`dataset manifest ${manifest.version} lists no files`);
  const paths: string[] = [];
  for (const [i, key] of keys.entries()) {
    const path = join(dir, `source-${i}.${manifest.format}`);
    await store.getFile(bucket, key, path);
    paths.push(path);
  }
  return { relation: readerSql(manifest.partitions ? paths : (paths[0] as string), manifest.format, manifest.schema, manifest.csv), files: paths.length };
}
